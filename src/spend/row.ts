import { GatewayError } from "../http/errors";
import type { CallRecord } from "./record";

/** One spend row as the `spend` table stores it (column → value); what the buffer keeps and flushes. */
export interface SpendRow {
  request_id: string;
  client_request_id: string | null;
  ts: number;
  key_id: string;
  team: string | null;
  end_user: string | null;
  metadata: string | null;
  model: string;
  provider: string | null;
  upstream_model: string | null;
  target_index: number | null;
  op: string;
  status: number;
  error_code: string | null;
  stream: 0 | 1;
  completed: 0 | 1;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_pusd: number | null;
  cache: string;
  saved_pusd: number;
  latency_ms: number;
  ttfb_ms: number | null;
  retries: number;
}

/** The `spend` columns a flush writes, in order. */
export const SPEND_COLUMNS = [
  "request_id",
  "client_request_id",
  "ts",
  "key_id",
  "team",
  "end_user",
  "metadata",
  "model",
  "provider",
  "upstream_model",
  "target_index",
  "op",
  "status",
  "error_code",
  "stream",
  "completed",
  "input_tokens",
  "cached_input_tokens",
  "cache_write_tokens",
  "output_tokens",
  "reasoning_tokens",
  "cost_pusd",
  "cache",
  "saved_pusd",
  "latency_ms",
  "ttfb_ms",
  "retries",
] as const satisfies readonly (keyof SpendRow)[];

/** A call record as its spend row (flags as 0/1, usage spread into token columns, metadata as JSON text). */
export function toSpendRow(rec: CallRecord): SpendRow {
  const u = rec.usage;
  return {
    request_id: rec.requestId,
    client_request_id: rec.clientRequestId,
    ts: rec.startedAt,
    key_id: rec.keyId,
    team: rec.team,
    end_user: rec.endUser,
    metadata: rec.metadata === null ? null : JSON.stringify(rec.metadata),
    model: rec.model,
    provider: rec.provider,
    upstream_model: rec.upstreamModel,
    target_index: rec.targetIndex,
    op: rec.op,
    status: rec.status,
    error_code: rec.errorCode,
    stream: rec.stream ? 1 : 0,
    completed: rec.completed ? 1 : 0,
    input_tokens: u?.inputTokens ?? 0,
    cached_input_tokens: u?.cachedInputTokens ?? 0,
    cache_write_tokens: u?.cacheWriteTokens ?? 0,
    output_tokens: u?.outputTokens ?? 0,
    reasoning_tokens: u?.reasoningTokens ?? 0,
    cost_pusd: rec.costPicoUsd,
    cache: rec.cache,
    saved_pusd: rec.savedPicoUsd,
    latency_ms: rec.latencyMs,
    ttfb_ms: rec.ttfbMs,
    retries: rec.retries,
  };
}

/** The request header that tags a call's spend row with the client's own metadata (a JSON object). */
export const METADATA_HEADER = "x-sluice-metadata";
const MAX_METADATA_BYTES = 2048;

/**
 * The `x-sluice-metadata` header as an object (null when absent). Anything but a JSON object of at most
 * 2 KiB is a 400 naming the header, so that tags are never silently lost.
 */
export function requestMetadata(headers: Headers): Record<string, unknown> | null {
  const raw = headers.get(METADATA_HEADER);
  if (raw === null) return null;
  let parsed: unknown;
  try {
    parsed = raw.length <= MAX_METADATA_BYTES ? JSON.parse(raw) : undefined;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError(
      "invalid_request",
      `Header ${METADATA_HEADER} must be a JSON object of at most ${MAX_METADATA_BYTES} bytes.`,
      { param: METADATA_HEADER },
    );
  }
  return parsed as Record<string, unknown>;
}
