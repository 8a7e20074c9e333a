import { calcPrice } from "@pydantic/genai-prices";
import type { Target } from "../config/resolve";
import type { GatewayConfig, ProviderConfig } from "../config/schema";
import type { Usage } from "../formats/usage";

/**
 * Prices of one model as integers: pico-USD (10⁻¹² USD) per token, so every published price (USD per million
 * tokens, up to six decimals) is exact and a call's cost is a sum of integer products — never a float sum.
 */
export interface UnitPrices {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  /** Cache writes kept for an hour (Anthropic): twice the input price unless the table or config says. */
  cacheWrite1h: number;
  output: number;
  reasoning: number;
}

/** USD per million tokens → pico-USD per token. */
const pico = (usdPerMtok: number) => Math.round(usdPerMtok * 1_000_000);

/** Sluice provider → the price table's provider id (OpenAI-compatible presets by preset name). */
function tableProvider(p: ProviderConfig, model: string): string | undefined {
  switch (p.type) {
    case "vertex":
      // Vertex serves Google's models and Anthropic's (at Anthropic's list prices).
      return model.startsWith("claude-") ? "anthropic" : "google";
    case "openai":
    case "anthropic":
      return p.type;
    case "azure-openai":
      return "azure";
    case "gemini":
      return "google";
    case "bedrock":
      return "aws";
    case "workers-ai":
      return "cloudflare";
    case "openai-compatible":
      return p.preset === "xai" ? "x-ai" : p.preset;
    case "mock":
      return undefined;
  }
}

type TablePrice = number | { base: number; tiers: { start: number; price: number }[] } | undefined;

/** A table price for a request with `inputTokens` of input: the highest tier whose start it passes. */
function tiered(v: TablePrice, inputTokens: number): number | undefined {
  if (v === undefined || typeof v === "number") return v;
  let price = v.base;
  for (const t of v.tiers) if (inputTokens > t.start) price = t.price;
  return price;
}

const table = new Map<string, Record<string, TablePrice> | undefined>();

/** The table's raw prices for a model (tiers unresolved), looked up once per isolate and model. */
function tablePrices(providerId: string, model: string): Record<string, TablePrice> | undefined {
  const key = `${providerId}/${model}`;
  if (!table.has(key)) {
    if (table.size >= 1000) table.clear();
    const found = calcPrice({ input_tokens: 1, output_tokens: 0 }, model, { providerId });
    table.set(key, found?.model_price as Record<string, TablePrice> | undefined);
  }
  return table.get(key);
}

/**
 * The prices for a target: the config's `pricing` override (by `provider/model`, then model), else the
 * maintained table (@pydantic/genai-prices) for the provider, else null — unpriced, never silently $0.
 */
export function pricesFor(cfg: GatewayConfig, target: Target, inputTokens: number): UnitPrices | null {
  const own = cfg.pricing[`${target.providerName}/${target.model}`] ?? cfg.pricing[target.model];
  if (own) {
    return {
      input: pico(own.input),
      cachedInput: pico(own.cachedInput ?? own.input),
      cacheWrite: pico(own.cacheWrite ?? own.input),
      cacheWrite1h: pico(own.cacheWrite1h ?? own.input * 2),
      output: pico(own.output),
      reasoning: pico(own.reasoning ?? own.output),
    };
  }
  const providerId = tableProvider(target.provider, target.model);
  if (!providerId) return null;
  // Vertex names Claude models with a version date (`claude-sonnet-4-5@20250929`); the table does not.
  const mp = tablePrices(providerId, target.model.replace(/@\d{8}$/, ""));
  const input = tiered(mp?.input_mtok, inputTokens);
  const output = tiered(mp?.output_mtok, inputTokens);
  if (input === undefined || output === undefined) return null;
  return {
    input: pico(input),
    cachedInput: pico(tiered(mp?.cache_read_mtok, inputTokens) ?? input),
    cacheWrite: pico(tiered(mp?.cache_write_mtok, inputTokens) ?? input),
    cacheWrite1h: pico(input * 2),
    output: pico(output),
    reasoning: pico(output),
  };
}

/** A call's cost in pico-USD: each kind of token at its own price (cached, cache-write and reasoning apart). */
export function costPicoUsd(u: Usage, p: UnitPrices): number {
  const plainInput = Math.max(0, u.inputTokens - u.cachedInputTokens - u.cacheWriteTokens);
  const plainOutput = Math.max(0, u.outputTokens - u.reasoningTokens);
  const writes1h = Math.min(u.cacheWrite1hTokens ?? 0, u.cacheWriteTokens);
  return (
    plainInput * p.input +
    u.cachedInputTokens * p.cachedInput +
    (u.cacheWriteTokens - writes1h) * p.cacheWrite +
    writes1h * p.cacheWrite1h +
    plainOutput * p.output +
    u.reasoningTokens * p.reasoning
  );
}
