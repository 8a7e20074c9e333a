import { toHex } from "../crypto/hash";

/** What a client's `x-request-id` must look like to be kept (echoed and stored). */
export const CLIENT_ID = /^[\w.:-]{1,128}$/;

/**
 * A gateway request id: `req_`, then 32 hex digits — the time in milliseconds (12), then 80 random bits (20).
 * Ids made later sort later, so the ledger's primary-key index on D1 grows at its right edge rather than at
 * random pages: the insert of a flushed batch touches a few hot pages instead of one page per row.
 */
export function newRequestId(now = Date.now()): string {
  return `req_${now.toString(16).padStart(12, "0")}${toHex(crypto.getRandomValues(new Uint8Array(10)))}`;
}

/** A request's ids: the gateway's (everything that counts or deduplicates uses it) and the client's, when sane. */
export interface RequestIds {
  requestId: string;
  clientRequestId: string | null;
}

/**
 * The headers every answer carries: `x-request-id` (the client's id, else the gateway's), `x-sluice-request-id`
 * (the gateway's) and `X-Content-Type-Options: nosniff` (no browser reads a JSON error or an SSE body as HTML).
 * The pipeline builds its answers with them (cheaper than setting them after); `gate` adds them to the rest.
 */
export function idHeaders(ids: RequestIds): Record<string, string> {
  return {
    "x-request-id": ids.clientRequestId ?? ids.requestId,
    "x-sluice-request-id": ids.requestId,
    "x-content-type-options": "nosniff",
  };
}

/** Adds the id headers to an answer built without them. */
export function stampIds(res: Response, ids: RequestIds): Response {
  const h = res.headers;
  if (h.has("x-sluice-request-id")) return res;
  for (const [name, value] of Object.entries(idHeaders(ids))) h.set(name, value);
  return res;
}
