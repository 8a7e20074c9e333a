import { type Route, resolveModel } from "../../src/config/resolve";
import { configSchema, type GatewayConfig } from "../../src/config/schema";
import type { PlanDeps, RequestFacts } from "../../src/routing/plan";

export const PROVIDERS = {
  openai: { type: "openai", apiKey: "sk-test" },
  anthropic: { type: "anthropic", apiKey: "sk-ant-test" },
  groq: { type: "openai-compatible", preset: "groq", apiKey: "gsk-test" },
  local: { type: "openai-compatible", baseUrl: "http://127.0.0.1:11434/v1" },
};

/** A validated config with the test providers and one alias `m` (plus any extra config sections). */
export function configWith(
  alias: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): GatewayConfig {
  return configSchema.parse({ providers: PROVIDERS, models: { m: alias }, ...extra });
}

/** The route of alias `m`. */
export function routeOf(alias: Record<string, unknown>): Route {
  return resolveModel(configWith(alias), "m");
}

export const leaf = (provider: string, model: string, weight?: number) =>
  weight === undefined ? { provider, model } : { provider, model, weight };

/** A plain chat request from key `key_1` named `web`, no team, tags, tools or images. */
export function facts(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    keyId: "key_1",
    keyName: "web",
    team: null,
    metadata: null,
    inputTokens: 100,
    tools: false,
    images: false,
    format: "chat",
    body: { model: "m", messages: [{ role: "user", content: "hi" }] },
    ...over,
  };
}

/** Deps where nothing is known: no latency, no price, no breaker open; random from `random` (0.5 by default). */
export function deps(over: Partial<PlanDeps> = {}): PlanDeps {
  return { random: () => 0.5, latencyMs: () => null, pricePerMTok: () => null, open: () => false, ...over };
}

/** A seeded uniform random in [0, 1): a 32-bit linear congruential generator, the same sequence every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
}
