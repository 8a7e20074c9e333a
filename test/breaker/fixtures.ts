import { env } from "cloudflare:test";
import type { CircuitBreaker } from "../../src/routing/breaker/durable-object";
import type { BreakerSettings } from "../../src/routing/breaker/interface";
import { type SharedOptions, sharedBreakers } from "../../src/routing/breaker/shared";

export const SETTINGS: BreakerSettings = { failures: 3, windowMs: 10_000, cooldownMs: 5_000 };

/** A target id no other test uses (the objects persist across test files). */
export const targetId = () => `test-provider/model-${crypto.randomUUID()}`;

/** A clock the test moves by hand. */
export function clock(start = 1_800_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** The BREAKERS namespace with every RPC counted by method name. */
export function countedNamespace(ns: DurableObjectNamespace<CircuitBreaker> = env.BREAKERS) {
  const calls: string[] = [];
  const counted = {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: DurableObjectId) =>
      new Proxy(ns.get(id), {
        get(stub, prop) {
          const value = Reflect.get(stub, prop);
          if (typeof prop !== "string" || typeof value !== "function") return value;
          return (...args: unknown[]) => {
            calls.push(prop);
            return Reflect.apply(value, stub, args);
          };
        },
      }),
  } as unknown as DurableObjectNamespace<CircuitBreaker>;
  return { ns: counted, calls };
}

/**
 * One "isolate": the shared breakers over its own env object on the common namespace, its waitUntil work kept so
 * the test can let it finish (`drain`) at the moment it chooses.
 */
export function isolate(options: SharedOptions & { ns?: DurableObjectNamespace<CircuitBreaker> } = {}) {
  const pending: Promise<unknown>[] = [];
  const own = { BREAKERS: options.ns ?? env.BREAKERS };
  const breakers = sharedBreakers(own, (p) => void pending.push(p), options);
  return {
    breakers,
    async drain() {
      while (pending.length) await Promise.all(pending.splice(0));
    },
  };
}
