import type { KeyRecord } from "../keys/store";
import type { PassthroughRequest } from "../providers/types";
import type { BrowserToken } from "../tokens/token";

/** One proxied request as the pipeline takes it: who sent it, what they sent, and how to notice them leave. */
export interface CallInput {
  /** The gateway's id for the call; everything that counts or deduplicates uses it. */
  requestId: string;
  /** The client's `x-request-id` (kept as data). */
  clientRequestId: string | null;
  key: KeyRecord;
  /** The browser token the call came with (its parent key is `key`); null for a key. */
  token: BrowserToken | null;
  headers: Headers;
  /** The request body, parsed as JSON but not yet validated. */
  json: unknown;
  /** The body as the client sent it (passed on byte for byte to a target that speaks the client's format). */
  raw: string;
  /** The request's query string (`?beta=true`), or "". */
  query: string;
  /** For a passthrough: the body to send any target but the one holding the request's stored state. */
  standalone?: PassthroughRequest["standalone"];
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}
