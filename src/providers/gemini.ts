import type { ProviderConfig } from "../config/schema";
import { GatewayError } from "../http/errors";
import type { ProviderAdapter } from "./types";

type Config = Extract<ProviderConfig, { type: "gemini" }>;

/** PLACEHOLDER — being implemented. */
export function geminiAdapter(_p: Config): ProviderAdapter {
  throw new GatewayError("unsupported_operation", "Provider type 'gemini' is not implemented yet.");
}
