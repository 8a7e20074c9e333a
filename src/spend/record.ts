import type { Usage } from "../formats/usage";

/** What one proxied call did: the row spend accounting is built from. */
export interface CallRecord {
  /** The gateway's id for the call (unique; the spend row's key). */
  requestId: string;
  /** The client's own `x-request-id`, kept as data (not unique, not trusted). */
  clientRequestId: string | null;
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
  /**
   * How the route chose it (logged, not a ledger column): the serving target's position (`1`, `0.2`) and the
   * plan's reason (routing/plan.ts `Planned.why`); absent when no target served.
   */
  route?: { path: string; why: string } | undefined;
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
