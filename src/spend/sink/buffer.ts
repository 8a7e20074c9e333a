import type { GatewayConfig } from "../../config/schema";
import type { Env } from "../../env";
import { ROWS_PER_FLUSH } from "../buffer";
import { rowArrays } from "../ledger";
import type { CallRecord } from "../record";
import { type SpendRow, toSpendRow } from "../row";
import type { SpendSink } from "./interface";

const ATTEMPTS = 3;
const BATCH_MAX_ROWS = 200;

interface Batch {
  rows: SpendRow[];
  done: Promise<void>;
}

/** The batch being filled, per environment (tests run gateways with different configs side by side). */
const open = new WeakMap<object, Batch>();

/**
 * The spend sink over the ledger's SpendBuffer Durable Objects. A record (call it inside `waitUntil`) goes: a
 * structured log line (visible in `wrangler tail`) if `spend.logCalls` asks for one, then the row joins this
 * isolate's open batch. The request that opened a batch sends it after `spend.batchWindowMs` (or when it is
 * full) in one RPC to a random SpendBuffer shard (the rows as JSON array text, the form the buffer stores), retried on other shards; its promise settles with that send,
 * so its `waitUntil` keeps the isolate alive until every row of the batch is durable. A row that joins an open
 * batch returns null, nothing to wait for: awaiting another request's promise would tie this request to that
 * one's I/O, which workerd refuses (its continuations are cancelled, and a request left waiting on nothing of
 * its own is reported as hung). If every attempt fails, the rows are logged whole as `sluice.spend.unbuffered`.
 */
export function bufferSink(env: Env, cfg: GatewayConfig): SpendSink {
  return { record: (rec) => recordCall(env, cfg, rec) };
}

/** Whether a call gets a `sluice.call` log line under `spend.logCalls`. */
function logged(cfg: GatewayConfig, rec: CallRecord): boolean {
  const mode = cfg.spend.logCalls;
  return mode === "all" || (mode === "errors" && (rec.status >= 400 || rec.errorCode !== null));
}

function recordCall(env: Env, cfg: GatewayConfig, rec: CallRecord): Promise<void> | null {
  if (logged(cfg, rec)) console.log(JSON.stringify({ event: "sluice.call", ...rec }));
  const row = toSpendRow(rec);
  const current = open.get(env);
  if (current && current.rows.length < BATCH_MAX_ROWS) {
    current.rows.push(row);
    return null;
  }
  const batch: Batch = { rows: [row], done: Promise.resolve() };
  batch.done = new Promise((r) => setTimeout(r, cfg.spend.batchWindowMs)).then(() => {
    if (open.get(env) === batch) open.delete(env);
    return send(env, cfg, batch.rows);
  });
  open.set(env, batch);
  return batch.done;
}

async function send(env: Env, cfg: GatewayConfig, rows: SpendRow[]): Promise<void> {
  const settings = { retentionDays: cfg.spend.retentionDays };
  let shard = Math.floor(Math.random() * cfg.spend.shards);
  // In the form the buffer stores them: stringified once, here, and one string per array over the RPC.
  const arrays = rowArrays(rows, ROWS_PER_FLUSH);
  for (let attempt = 1; ; attempt++) {
    try {
      await env.SPEND.get(env.SPEND.idFromName(`spend:${shard}`)).recordArrays(arrays, settings);
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS) {
        for (const row of rows) {
          console.error(JSON.stringify({ event: "sluice.spend.unbuffered", row, error: String(err) }));
        }
        return;
      }
      shard = (shard + 1) % cfg.spend.shards;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
