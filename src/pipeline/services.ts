import { type Cache, cacheFor } from "../cache";
import type { Route, Target } from "../config/resolve";
import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import { KeyStore } from "../keys/store";
import { durableObjectLimiters } from "../limits/durable-object";
import type { LimiterObjects } from "../limits/interface";
import { TeamStore } from "../limits/teams";
import type { CallRequest } from "../providers/types";
import { type Breakers, breakersFor } from "../routing/breaker";
import { type PlanDeps, type Planned, planAttempts, pricePerMTok } from "../routing/plan";
import type { RequestFacts } from "../routing/rules";
import { type Observation, targetStats } from "../routing/stats";
import type { CallRecord } from "../spend/record";
import { bufferSink } from "../spend/sink/buffer";
import type { Stage } from "./stage";
import { DEFAULT_DEPS, type UpstreamDeps } from "./upstream";

/**
 * What the pipeline needs from the world, built for each request by `gate` (or by a test or a background job)
 * from parts shared per isolate: the bindings and config, a way to run work off the response path, the spend
 * sink, the stages and the stores.
 */
export interface Services {
  env: Env;
  config: GatewayConfig;
  /** Keeps the isolate alive for work after the response (`ctx.waitUntil`). */
  waitUntil(work: Promise<unknown>): void;
  /** The spend sink's record (spend/sink/): durable once the promise settles; null, nothing to wait for. */
  record(rec: CallRecord): Promise<void> | null;
  /** The stages every call passes through, in order (see stage.ts): the response cache when configured. */
  stages: readonly Stage[];
  /** The response cache (its stage and ports); null when no alias caches. */
  cache: Cache | null;
  /** The limiter objects (Durable Objects of `LIMITS`). */
  limiters: LimiterObjects;
  /** Keys and teams in D1 (the only SQL about them). */
  keys: KeyStore;
  teams: TeamStore;
  /** How calls go upstream: the routing plan, the targets' circuit breakers, the routing stats (upstream.ts). */
  upstream: UpstreamDeps;
}

/** The services that depend on the bindings and config alone: all but the request's `waitUntil` and upstream. */
type Shared = Omit<Services, "waitUntil" | "upstream">;

/** The shared services per env object (per isolate) and the config they were built for. */
const shared = new WeakMap<Env, { config: GatewayConfig; services: Shared }>();

/** The services of an env and config, built once (tests run gateways with different configs side by side). */
function sharedServices(env: Env, config: GatewayConfig): Shared {
  const known = shared.get(env);
  if (known?.config === config) return known.services;
  const cache = cacheFor(env, config);
  const services: Shared = {
    env,
    config,
    record: bufferSink(env, config).record,
    stages: cache ? [cache.stage] : [],
    cache,
    limiters: durableObjectLimiters(env.LIMITS),
    keys: new KeyStore(env.DB),
    teams: new TeamStore(env.DB),
  };
  shared.set(env, { config, services });
  return services;
}

/**
 * The request's services from its bindings, config and execution context: the shared ones (sharedServices),
 * the request's `waitUntil`, and how its calls go upstream (the breakers keep the isolate alive through it).
 */
export function buildServices(
  env: Env,
  config: GatewayConfig,
  ctx: Pick<ExecutionContext, "waitUntil">,
): Services {
  const waitUntil = (work: Promise<unknown>) => ctx.waitUntil(work);
  return {
    ...sharedServices(env, config),
    waitUntil,
    upstream: new RequestUpstream(env, config, waitUntil),
  };
}

/**
 * How this request's calls go upstream. Cheap when there is nothing to decide: a route of one target needs no
 * plan, and the breakers are built only when a route has one. A class, so that its getter is defined once.
 */
class RequestUpstream implements UpstreamDeps {
  readonly now = DEFAULT_DEPS.now;
  readonly random = DEFAULT_DEPS.random;
  readonly sleep = DEFAULT_DEPS.sleep;
  #breakers: Breakers | undefined;

  constructor(
    private readonly env: Env,
    private readonly config: GatewayConfig,
    private readonly waitUntil: (work: Promise<unknown>) => void,
  ) {}

  plan(route: Route, request: CallRequest): Planned[] {
    const only = route.targets.length === 1 ? route.targets[0] : undefined;
    if (only && route.tree.children[0] === only) return [{ target: only, why: "fallback" }];
    return planAttempts(route, request.facts ?? ownFacts(request.body), planDeps(this.config, request));
  }

  get breakers(): Breakers {
    this.#breakers ??= breakersFor(this.env, this.waitUntil);
    return this.#breakers;
  }

  observe(id: string, o: Observation): void {
    targetStats.observe(id, o);
  }
}

/** The plan's view of the isolate: its routing stats and the config's prices (no breaker: `allow` decides). */
function planDeps(config: GatewayConfig, request: CallRequest): PlanDeps {
  let prices: ((t: Target) => number | null) | undefined;
  return {
    random: Math.random,
    latencyMs: (id) => targetStats.latencyMs(id),
    pricePerMTok: (t) => {
      prices ??= pricePerMTok(config, request.facts?.inputTokens ?? 0);
      return prices(t);
    },
    open: () => false,
  };
}

/** Facts of a call the gateway makes itself (no key, no client format): rules see an anonymous chat call. */
function ownFacts(body: Record<string, unknown>): RequestFacts {
  return {
    keyId: null,
    keyName: null,
    team: null,
    metadata: null,
    inputTokens: 0,
    tools: false,
    images: false,
    format: "chat",
    body,
  };
}
