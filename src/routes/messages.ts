import { Hono } from "hono";
import {
  fromMessagesRequest,
  messagesRequestSchema,
  toAnthropicMessage,
  toAnthropicStream,
} from "../formats/anthropic";
import type { AppEnv } from "../http/context";
import { parseBody, readJson } from "../http/validate";
import { proxy } from "../pipeline/proxy";
import { watchChatStream } from "../pipeline/stream";
import { DROPPED_HEADER } from "../providers/native";

const VERSIONS = new Set(["2023-06-01", "2026-10-21"]);

/**
 * `POST /v1/messages` — Anthropic's wire format inbound, routed to any provider through the canonical form:
 * the request is translated to an OpenAI chat request, proxied like `/v1/chat/completions`, and the answer
 * (JSON or stream) translated back into the client's API version. Errors come out in Anthropic's shape.
 */
export const messages = new Hono<AppEnv>().post("/v1/messages", async (c) => {
  const asked = c.req.header("anthropic-version");
  const version = asked && VERSIONS.has(asked) ? asked : "2023-06-01";
  const req = parseBody(messagesRequestSchema, await readJson(c.req.raw));
  const { body, dropped } = fromMessagesRequest(req);
  const stream = req.stream === true;
  const call = await proxy(c, "chat", body as Record<string, unknown> & { model: string }, stream);
  const all = [...dropped, ...(call.headers[DROPPED_HEADER]?.split(",") ?? [])];
  if (all.length > 0) call.headers[DROPPED_HEADER] = all.join(",");
  const { response } = call.up;

  if (stream && response.body) {
    const watched = watchChatStream(response.body, false);
    call.finish(watched.done);
    return call.sse(toAnthropicStream(watched.body, version));
  }
  const text = await call.text();
  return c.json(toAnthropicMessage(JSON.parse(text) as Record<string, unknown>, version), 200, call.headers);
});
