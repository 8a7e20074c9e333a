import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { readJsonText } from "../http/validate";
import { runCall } from "../pipeline/call";
import type { CallInput } from "../pipeline/input";
import type { InboundFormat } from "./types";

/**
 * The pipeline's input for an authenticated request and its body. The context's variables are read once:
 * Hono builds a new object from them on every `c.var` read.
 */
export function callInput(c: Context<AppEnv>, raw: string, json: unknown): CallInput {
  const v = c.var;
  const url = c.req.url;
  const q = url.indexOf("?");
  return {
    requestId: v.requestId,
    clientRequestId: v.clientRequestId,
    key: v.key,
    token: v.token,
    headers: c.req.raw.headers,
    json,
    raw,
    query: q === -1 || q === url.length - 1 ? "" : url.slice(q), // as URL.search: "" for a bare "?"
    signal: c.req.raw.signal,
  };
}

/**
 * The Hono handler of a proxied endpoint: the authenticated request handed to the pipeline in `format`.
 *
 * @example app.post("/v1/messages", handle(anthropicMessages))
 */
export const handle = (format: InboundFormat) => async (c: Context<AppEnv>) => {
  const { text, json } = await readJsonText(c.req.raw);
  return runCall(c.get("services"), format, callInput(c, text, json));
};
