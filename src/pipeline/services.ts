import { type Cache, cacheFor } from "../cache";
import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import { KeyStore } from "../keys/store";
import { durableObjectLimiters } from "../limits/durable-object";
import type { LimiterObjects } from "../limits/interface";
import { TeamStore } from "../limits/teams";
import type { CallRecord } from "../spend/record";
import { bufferSink } from "../spend/sink/buffer";
import type { Stage } from "./stage";

/**
 * What the pipeline needs from the world, built once per request by `init` (or by a test or a background job):
 * the bindings and config, a way to run work off the response path, the spend sink, the stages and the stores.
 */
export interface Services {
  env: Env;
  config: GatewayConfig;
  /** Keeps the isolate alive for work after the response (`ctx.waitUntil`). */
  waitUntil(work: Promise<unknown>): void;
  /** The spend sink's record (spend/sink/): a call's record, durable once the promise settles. */
  record(rec: CallRecord): Promise<void>;
  /** The stages every call passes through, in order (see stage.ts): the response cache when configured. */
  stages: readonly Stage[];
  /** The response cache (its stage and ports); null when no alias caches. */
  cache: Cache | null;
  /** The limiter objects (Durable Objects of `LIMITS`). */
  limiters: LimiterObjects;
  /** Keys and teams in D1 (the only SQL about them). */
  keys: KeyStore;
  teams: TeamStore;
}

/** What depends on the bindings alone, built once per env object (per isolate) rather than per request. */
const bound = new WeakMap<Env, Pick<Services, "limiters" | "keys" | "teams">>();

/** The request's services from its bindings, config and execution context. */
export function buildServices(
  env: Env,
  config: GatewayConfig,
  ctx: Pick<ExecutionContext, "waitUntil">,
): Services {
  let stores = bound.get(env);
  if (!stores) {
    stores = {
      limiters: durableObjectLimiters(env.LIMITS),
      keys: new KeyStore(env.DB),
      teams: new TeamStore(env.DB),
    };
    bound.set(env, stores);
  }
  const cache = cacheFor(env, config);
  return {
    env,
    config,
    waitUntil: (work) => ctx.waitUntil(work),
    record: bufferSink(env, config).record,
    stages: stagesOf(cache),
    cache,
    ...stores,
  };
}

const NO_STAGES: readonly Stage[] = [];
const stageLists = new WeakMap<Cache, readonly Stage[]>();

/** The stages of a deployment: the response cache when an alias caches. */
function stagesOf(cache: Cache | null): readonly Stage[] {
  if (!cache) return NO_STAGES;
  let list = stageLists.get(cache);
  if (!list) {
    list = [cache.stage];
    stageLists.set(cache, list);
  }
  return list;
}
