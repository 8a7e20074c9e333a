import type { CallRecord } from "../record";

/**
 * The spend sink port: where each call's record goes. Adapters: the ledger's SpendBuffer Durable Objects
 * (`buffer.ts`, what the gateway uses) and an in-memory twin (`memory.ts`) for tests and background jobs.
 */
export interface SpendSink {
  /**
   * Takes a call's record: durable (or, for the twin, kept) once the promise settles — keep it in `waitUntil` —
   * or null when there is nothing to wait for (the row joined a batch another request sends; the twin's kept).
   */
  record(rec: CallRecord): Promise<void> | null;
}
