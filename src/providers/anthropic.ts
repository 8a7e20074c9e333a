import type { ProviderConfig } from "../config/schema";
import { GatewayError } from "../http/errors";
import type { ProviderAdapter } from "./types";

type Config = Extract<ProviderConfig, { type: "anthropic" }>;

/** PLACEHOLDER — being implemented. */
export function anthropicAdapter(_p: Config): ProviderAdapter {
  throw new GatewayError("unsupported_operation", "Provider type 'anthropic' is not implemented yet.");
}
