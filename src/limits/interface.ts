import type { Ask, Decision, Usage } from "./limiter";

/**
 * The limiter objects, by name (`limits:key:<id>[:<shard>]`, `limits:team:<name>`, `limits:token:<id>`): the port
 * enforce.ts decides through. Each method is one atomic step of one object (see limiter.ts).
 */
export interface LimiterObjects {
  /** Checks every limit and, when all pass, reserves the request. */
  acquire(name: string, ask: Ask): Promise<Decision>;
  /** Replaces a reservation by what the call used (idempotent per request id). */
  settle(name: string, id: string, tokens: number, costPusd: number): Promise<void>;
  /** Drops a reservation (nothing was sent upstream). */
  release(name: string, id: string): Promise<void>;
  /** Spend so far and the current load. */
  usage(name: string): Promise<Usage>;
}
