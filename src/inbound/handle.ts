import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { readJsonText } from "../http/validate";
import type { KeyRecord } from "../keys/store";
import { runCall } from "../pipeline/call";
import type { CallInput } from "../pipeline/input";
import type { BrowserToken } from "../tokens/token";
import type { InboundFormat } from "./types";

/** An authenticated request: its ids (the gateway's; the client's, when sane) and its key (and browser token). */
export interface Authenticated {
  requestId: string;
  clientRequestId: string | null;
  key: KeyRecord;
  token: BrowserToken | null;
}

/** The pipeline's input for an authenticated request and its body. */
export function callInput(req: Request, who: Authenticated, raw: string, json: unknown): CallInput {
  const url = req.url;
  const q = url.indexOf("?");
  return {
    requestId: who.requestId,
    clientRequestId: who.clientRequestId,
    key: who.key,
    token: who.token,
    headers: req.headers,
    json,
    raw,
    query: q === -1 || q === url.length - 1 ? "" : url.slice(q), // as URL.search: "" for a bare "?"
    signal: req.signal,
  };
}

/**
 * The Hono handler of a proxied endpoint: the authenticated request handed to the pipeline in `format`. The
 * context's variables are read once: Hono builds a new object from them on every `c.var` read.
 *
 * @example app.post("/v1/messages", handle(anthropicMessages))
 */
export const handle = (format: InboundFormat) => async (c: Context<AppEnv>) => {
  const v = c.var;
  const { text, json } = await readJsonText(c.req.raw);
  return runCall(v.services, format, callInput(c.req.raw, v, text, json));
};
