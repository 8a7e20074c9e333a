import type { ProviderConfig } from "../config/schema";
import { GatewayError } from "../http/errors";
import type { ProviderAdapter } from "./types";

type Config = Extract<ProviderConfig, { type: "workers-ai" }>;

/** PLACEHOLDER — being implemented. */
export function workersAiAdapter(_p: Config): ProviderAdapter {
  throw new GatewayError("unsupported_operation", "Provider type 'workers-ai' is not implemented yet.");
}
