import type { Env } from "../../env";
import type { Breakers } from "./interface";
import { localBreakers } from "./local";
import { sharedBreakers } from "./shared";

export type { Admission, BreakerPhase, BreakerSettings, Breakers, BreakerView } from "./interface";

/**
 * The circuit breakers for a request: shared across isolates through the `BREAKERS` Durable Objects when bound,
 * else the in-isolate twin. Cheap to call per request (the view is kept per env object); `waitUntil` carries
 * the background refreshes and reports of this request.
 *
 * @example
 * const breakers = breakersFor(services.env, services.waitUntil);
 */
export function breakersFor(env: Env, waitUntil: (work: Promise<unknown>) => void): Breakers {
  const { BREAKERS } = env;
  return BREAKERS
    ? sharedBreakers(env as Env & { BREAKERS: typeof BREAKERS }, waitUntil)
    : localBreakers(env);
}
