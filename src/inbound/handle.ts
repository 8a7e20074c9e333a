import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import type { RequestIds } from "../http/middleware";
import { readJsonText } from "../http/validate";
import type { KeyRecord } from "../keys/store";
import { runCall } from "../pipeline/call";
import type { CallInput } from "../pipeline/input";
import type { Services } from "../pipeline/services";
import type { BrowserToken } from "../tokens/token";
import type { InboundFormat } from "./types";

/** An authenticated request: its ids and the key (and browser token) it came with. */
export interface Authenticated extends RequestIds {
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

/** An authenticated request's body read and handed to the pipeline in `format`. */
export async function handleRequest(
  services: Services,
  format: InboundFormat,
  req: Request,
  who: Authenticated,
): Promise<Response> {
  const { text, json } = await readJsonText(req);
  return runCall(services, format, callInput(req, who, text, json));
}

/**
 * The Hono handler of a proxied endpoint: the authenticated request handed to the pipeline in `format`. The
 * context's variables are read once: Hono builds a new object from them on every `c.var` read.
 *
 * @example app.post("/v1/messages", handle(anthropicMessages))
 */
export const handle = (format: InboundFormat) => (c: Context<AppEnv>) => {
  const v = c.var;
  return handleRequest(v.services, format, c.req.raw, v);
};
