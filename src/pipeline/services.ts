import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import { KeyStore } from "../keys/store";
import { durableObjectLimiters } from "../limits/durable-object";
import type { LimiterObjects } from "../limits/interface";
import { TeamStore } from "../limits/teams";
import { recordCall } from "../spend/client";
import type { CallRecord } from "../spend/record";
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
  /** The spend sink: a call's record, durable once the promise settles (see spend/client.ts). */
  record(rec: CallRecord): Promise<void>;
  /** The stages every call passes through, in order (see stage.ts); none by default. */
  stages: readonly Stage[];
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
  return {
    env,
    config,
    waitUntil: (work) => ctx.waitUntil(work),
    record: (rec) => recordCall(env, config, rec),
    stages: NO_STAGES,
    ...stores,
  };
}

const NO_STAGES: readonly Stage[] = [];
