import { GatewayError } from "../http/errors";
import type { AliasCacheConfig, GatewayConfig, ModelConfig, ProviderConfig } from "./schema";

export interface Target {
  /** The provider's name in the config (`openai`, `local`, …). */
  providerName: string;
  provider: ProviderConfig;
  /** The model name the upstream is asked for. */
  model: string;
  weight: number;
}

export interface Route {
  /** The model name the client asked for. */
  requested: string;
  strategy: ModelConfig["strategy"];
  targets: Target[];
  retry: ModelConfig["retry"];
  timeoutMs: number;
  /** The alias's response cache; null for a direct `provider/model` (never cached). */
  cache: AliasCacheConfig | null;
}

const DIRECT = {
  strategy: "fallback",
  retry: { attempts: 1, backoffMs: 250 },
  timeoutMs: 60_000,
  cache: null,
} as const;

/**
 * Turns the client's `model` into a route: a configured alias, `provider/model` for any configured
 * provider, or a model a provider lists under `models`. Anything else is a 404.
 *
 * @example resolveModel(cfg, "openai/gpt-4.1-mini") // one target: provider openai, model gpt-4.1-mini
 */
export function resolveModel(cfg: GatewayConfig, requested: string): Route {
  // Own properties only: `constructor` or `__proto__` must be a 404, not Object.prototype's members.
  const alias = Object.hasOwn(cfg.models, requested) ? cfg.models[requested] : undefined;
  if (alias) {
    const targets = alias.targets.map((t) => target(cfg, t.provider, t.model, t.weight));
    const cache = alias.cache && alias.cache.mode !== "off" ? alias.cache : null;
    return {
      requested,
      strategy: alias.strategy,
      targets,
      retry: alias.retry,
      timeoutMs: alias.timeoutMs,
      cache,
    };
  }
  const slash = requested.indexOf("/");
  if (slash > 0) {
    const providerName = requested.slice(0, slash);
    const model = requested.slice(slash + 1);
    if (Object.hasOwn(cfg.providers, providerName) && model) {
      return { requested, ...DIRECT, targets: [target(cfg, providerName, model, 1)] };
    }
  }
  for (const [providerName, p] of Object.entries(cfg.providers)) {
    if (p.models?.includes(requested)) {
      return { requested, ...DIRECT, targets: [target(cfg, providerName, requested, 1)] };
    }
  }
  throw new GatewayError(
    "model_not_found",
    `The model '${requested}' does not exist. Use a configured model (${Object.keys(cfg.models).join(", ") || "none"}) or address a provider directly as provider/model (providers: ${Object.keys(cfg.providers).join(", ")}).`,
    { param: "model" },
  );
}

function target(cfg: GatewayConfig, providerName: string, model: string, weight: number): Target {
  const provider = Object.hasOwn(cfg.providers, providerName) ? cfg.providers[providerName] : undefined;
  if (!provider) throw new GatewayError("config_invalid", `Unknown provider '${providerName}'`);
  return { providerName, provider, model, weight };
}

/**
 * The order in which targets are tried: as listed for `fallback`; for `loadbalance`, a weighted random
 * draw without replacement, so the rest still serve as fallbacks.
 */
export function orderTargets(route: Route, random: () => number = Math.random): Target[] {
  if (route.strategy === "fallback" || route.targets.length < 2) return route.targets;
  const pool = [...route.targets];
  const out: Target[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((s, t) => s + t.weight, 0);
    let r = random() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= (pool[i] as Target).weight;
      if (r < 0) break;
    }
    out.push(...pool.splice(i, 1));
  }
  return out;
}

/** Every model name a client can use: aliases, then each provider's listed models as `provider/model`. */
export function listModels(cfg: GatewayConfig): { id: string; ownedBy: string }[] {
  const out = Object.keys(cfg.models).map((id) => ({ id, ownedBy: "sluice" }));
  for (const [name, p] of Object.entries(cfg.providers)) {
    for (const m of p.models ?? []) out.push({ id: `${name}/${m}`, ownedBy: name });
  }
  return out;
}
