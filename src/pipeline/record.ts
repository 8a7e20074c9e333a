import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import type { Usage } from "../formats/usage";
import { toSpendRow } from "../spend/row";

/** What one proxied call did: the row spend accounting is built from. */
export interface CallRecord {
  requestId: string;
  /** When the call started (ms since the epoch). */
  startedAt: number;
  keyId: string;
  team: string | null;
  /** The end user the client named (`user`). */
  endUser: string | null;
  /** The client's tags (`x-sluice-metadata`). */
  metadata: Record<string, unknown> | null;
  /** The model name the client asked for. */
  model: string;
  provider: string | null;
  upstreamModel: string | null;
  /** Index in the route's targets of the one that served (0 = first; more = a fallback); null if none did. */
  targetIndex: number | null;
  op: "chat" | "embeddings";
  status: number;
  errorCode: string | null;
  stream: boolean;
  /** For streams: whether the upstream finished (`[DONE]`) rather than being cut. */
  completed: boolean;
  retries: number;
  usage: Usage | null;
  /** Cost in pico-USD (10⁻¹² USD); null when the model has no price (unpriced, not $0). */
  costPicoUsd: number | null;
  cache: "MISS" | "HIT" | "SEMANTIC" | "BYPASS";
  /** What a cache hit saved, in pico-USD. */
  savedPicoUsd: number;
  latencyMs: number;
  /** Until the upstream's response headers; null when no upstream answered. */
  ttfbMs: number | null;
}

const ATTEMPTS = 3;

/**
 * Hands a call record to the spend ledger (call it inside `waitUntil`): one structured log line (visible in
 * `wrangler tail`), then the row into a random shard of the SpendBuffer Durable Object, retried on other
 * shards. If every attempt fails, the whole row is logged as `sluice.spend.unbuffered` so it can be replayed.
 */
export async function recordCall(env: Env, cfg: GatewayConfig, rec: CallRecord): Promise<void> {
  console.log(JSON.stringify({ event: "sluice.call", ...rec }));
  const row = toSpendRow(rec);
  const settings = { retentionDays: cfg.spend.retentionDays };
  let shard = Math.floor(Math.random() * cfg.spend.shards);
  for (let attempt = 1; ; attempt++) {
    try {
      await env.SPEND.get(env.SPEND.idFromName(`spend:${shard}`)).record(row, settings);
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS) {
        console.error(JSON.stringify({ event: "sluice.spend.unbuffered", row, error: String(err) }));
        return;
      }
      shard = (shard + 1) % cfg.spend.shards;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
