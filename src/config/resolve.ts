import { GatewayError } from "../http/errors";
import type { Rule } from "../routing/rules";
import {
  type AliasCacheConfig,
  type BreakerConfig,
  DEFAULT_RETRY_ON,
  type GatewayConfig,
  type ModelConfig,
  type ProviderConfig,
  type Strategy,
  type TargetGroupConfig,
} from "./schema";

export interface Target {
  /** The provider's name in the config (`openai`, `local`, …). */
  providerName: string;
  provider: ProviderConfig;
  /** The model name the upstream is asked for. */
  model: string;
  weight: number;
  /** Its position in the route, counted from 0, nested groups joined by dots (`1`, `0.2`). */
  path: string;
  /** `provider/model`: what breakers and routing stats are kept by. */
  id: string;
}

/** A group of targets and how to order them; the route's root is one (path ""). */
export interface TargetGroup {
  /** Its position in the route ("" for the root). */
  path: string;
  strategy: Strategy;
  weight: number;
  /** `conditional`: the first rule that holds picks a child; else `default`. */
  rules: Rule[];
  default: number;
  /** `latency`: the share of calls that try another child first. */
  explore: number;
  children: TargetNode[];
}

export type TargetNode = Target | TargetGroup;

export interface Route {
  /** The model name the client asked for. */
  requested: string;
  strategy: Strategy;
  /** Every target of the route, nested ones included, in declaration order. */
  targets: Target[];
  /** The group structure over `targets`, for routing/plan.ts. */
  tree: TargetGroup;
  retry: ModelConfig["retry"];
  timeoutMs: number;
  /** Until the first content event, per attempt; null: no limit. */
  firstTokenTimeoutMs: number | null;
  /** Between stream chunks; null: no limit. */
  idleTimeoutMs: number | null;
  /** The whole call from its arrival; null: no limit. */
  deadlineMs: number | null;
  /** Applied to each target; null: no breaker. */
  breaker: BreakerConfig | null;
  /** The alias's response cache; null for a direct `provider/model` (never cached). */
  cache: AliasCacheConfig | null;
}

/** Call settings a route made without an alias may set; the rest are a direct route's defaults. */
export interface DirectSettings {
  retry?: Partial<Route["retry"]>;
  timeoutMs?: number;
}

/**
 * A route to one provider's model with a direct `provider/model`'s settings (fallback, one attempt, 60 s, no
 * cache, no breaker): what `provider/model` names resolve to, and what the gateway's own calls use.
 *
 * @example directRoute("embedder", "ai", { type: "workers-ai", binding: "AI", strict: false }, "@cf/baai/bge-m3")
 */
export function directRoute(
  requested: string,
  providerName: string,
  provider: ProviderConfig,
  model: string,
  settings: DirectSettings = {},
): Route {
  const t: Target = { providerName, provider, model, weight: 1, path: "0", id: `${providerName}/${model}` };
  return {
    requested,
    strategy: "fallback",
    targets: [t],
    tree: { path: "", strategy: "fallback", weight: 1, rules: [], default: 0, explore: 0, children: [t] },
    retry: { attempts: 1, backoffMs: 250, on: [...DEFAULT_RETRY_ON], ...settings.retry },
    timeoutMs: settings.timeoutMs ?? 60_000,
    firstTokenTimeoutMs: null,
    idleTimeoutMs: null,
    deadlineMs: null,
    breaker: null,
    cache: null,
  };
}

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
    const targets: Target[] = [];
    const tree = group(cfg, { ...alias, weight: 1 }, "", targets);
    return {
      requested,
      strategy: alias.strategy,
      targets,
      tree,
      retry: alias.retry,
      timeoutMs: alias.timeoutMs,
      firstTokenTimeoutMs: alias.firstTokenTimeoutMs ?? null,
      idleTimeoutMs: alias.idleTimeoutMs ?? null,
      deadlineMs: alias.deadlineMs ?? null,
      breaker: alias.breaker ?? null,
      cache: alias.cache && alias.cache.mode !== "off" ? alias.cache : null,
    };
  }
  const slash = requested.indexOf("/");
  if (slash > 0) {
    const providerName = requested.slice(0, slash);
    const model = requested.slice(slash + 1);
    if (Object.hasOwn(cfg.providers, providerName) && model) {
      return directRoute(requested, providerName, provider(cfg, providerName), model);
    }
  }
  for (const [providerName, p] of Object.entries(cfg.providers)) {
    if (p.models?.includes(requested)) return directRoute(requested, providerName, p, requested);
  }
  throw new GatewayError(
    "model_not_found",
    `The model '${requested}' does not exist. Use a configured model (${Object.keys(cfg.models).join(", ") || "none"}) or address a provider directly as provider/model (providers: ${Object.keys(cfg.providers).join(", ")}).`,
    { param: "model" },
  );
}

/** A configured group as a TargetGroup, its leaves appended to `leaves` in declaration order. */
function group(cfg: GatewayConfig, g: TargetGroupConfig, path: string, leaves: Target[]): TargetGroup {
  const children = g.targets.map((t, i): TargetNode => {
    const at = path ? `${path}.${i}` : String(i);
    if ("targets" in t) return group(cfg, t, at, leaves);
    const leaf: Target = {
      providerName: t.provider,
      provider: provider(cfg, t.provider),
      model: t.model,
      weight: t.weight,
      path: at,
      id: `${t.provider}/${t.model}`,
    };
    leaves.push(leaf);
    return leaf;
  });
  return {
    path,
    strategy: g.strategy,
    weight: g.weight,
    rules: g.rules ?? [],
    default: g.default,
    explore: g.explore,
    children,
  };
}

function provider(cfg: GatewayConfig, providerName: string): ProviderConfig {
  const p = Object.hasOwn(cfg.providers, providerName) ? cfg.providers[providerName] : undefined;
  if (!p) throw new GatewayError("config_invalid", `Unknown provider '${providerName}'`);
  return p;
}

/** Every model name a client can use: aliases, then each provider's listed models as `provider/model`. */
export function listModels(cfg: GatewayConfig): { id: string; ownedBy: string }[] {
  const out = Object.keys(cfg.models).map((id) => ({ id, ownedBy: "sluice" }));
  for (const [name, p] of Object.entries(cfg.providers)) {
    for (const m of p.models ?? []) out.push({ id: `${name}/${m}`, ownedBy: name });
  }
  return out;
}
