import type { CallRecord } from "../record";

/**
 * The spend sink port: where each call's record goes. Adapters: the ledger's SpendBuffer Durable Objects
 * (`buffer.ts`, what the gateway uses) and an in-memory twin (`memory.ts`) for tests and background jobs.
 */
export interface SpendSink {
  /** Durable (or, for the twin, kept) once the promise settles; call it inside `waitUntil`. */
  record(rec: CallRecord): Promise<void>;
}
