import type { Usage } from "../formats/usage";

/** What one proxied call did: the row spend accounting is built from. */
export interface CallRecord {
  requestId: string;
  keyId: string;
  /** The model name the client asked for. */
  model: string;
  provider: string | null;
  upstreamModel: string | null;
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
  latencyMs: number;
}

/**
 * Hands a call record to its sink, off the response path. Until the spend ledger lands, the sink is one
 * structured log line per call (visible in `wrangler tail` and Workers Logs); no secret is ever in it.
 */
export function recordCall(rec: CallRecord): void {
  console.log(JSON.stringify({ event: "sluice.call", ...rec }));
}
