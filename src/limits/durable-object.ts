import type { LimiterObjects } from "./interface";
import type { Limiter } from "./limiter";

/** The limiter objects as Durable Objects of the `LIMITS` namespace (one SQLite-backed object per name). */
export function durableObjectLimiters(ns: DurableObjectNamespace<Limiter>): LimiterObjects {
  const stub = (name: string) => ns.get(ns.idFromName(name));
  return {
    acquire: (name, ask) => stub(name).acquire(ask),
    settle: (name, id, tokens, costPusd) => stub(name).settle(id, tokens, costPusd),
    release: (name, id) => stub(name).release(id),
    usage: (name) => stub(name).usage(),
  };
}
