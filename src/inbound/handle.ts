import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { readJsonText } from "../http/validate";
import { runCall } from "../pipeline/call";
import type { InboundFormat } from "./types";

/**
 * The Hono handler of a proxied endpoint: the authenticated request handed to the pipeline in `format`.
 *
 * @example app.post("/v1/messages", handle(anthropicMessages))
 */
export const handle = (format: InboundFormat) => async (c: Context<AppEnv>) => {
  const { text, json } = await readJsonText(c.req.raw);
  return runCall(c.var.services, format, {
    requestId: c.var.requestId,
    clientRequestId: c.var.clientRequestId,
    key: c.var.key,
    token: c.var.token,
    headers: c.req.raw.headers,
    json,
    raw: text,
    query: new URL(c.req.url).search,
    signal: c.req.raw.signal,
  });
};
