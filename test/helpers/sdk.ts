import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { BASE, type Gateway } from "./gateway";

/**
 * The official SDKs pointed at a test gateway. Kept apart from gateway.ts so that only the test files that use
 * an SDK pay for loading it.
 */

/** The official OpenAI SDK pointed at `g` (no retries unless asked). */
export function openaiFor(g: Gateway, apiKey: string, opts: { maxRetries?: number } = {}): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${BASE}/v1`, fetch: g.call, maxRetries: opts.maxRetries ?? 0 });
}

/** The official Anthropic SDK pointed at `g` (`/v1/messages`). */
export function anthropicFor(
  g: Gateway,
  apiKey: string,
  opts: { defaultHeaders?: Record<string, string> } = {},
): Anthropic {
  return new Anthropic({ apiKey, baseURL: BASE, fetch: g.call, maxRetries: 0, ...opts });
}
