import type { ProviderConfig } from "../config/schema";
import { GatewayError } from "../http/errors";
import type { ProviderAdapter } from "./types";

type Config = Extract<ProviderConfig, { type: "bedrock" }>;

/** PLACEHOLDER — being implemented. */
export function bedrockAdapter(_p: Config): ProviderAdapter {
  throw new GatewayError("unsupported_operation", "Provider type 'bedrock' is not implemented yet.");
}
