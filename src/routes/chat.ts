import { Hono } from "hono";
import { chatRequestSchema } from "../formats/openai";
import type { AppEnv } from "../http/context";
import { parseBody, readJson } from "../http/validate";
import { proxy } from "../pipeline/proxy";
import { watchChatStream } from "../pipeline/stream";

/** `POST /v1/chat/completions` — OpenAI chat, streamed as SSE when `stream: true`. */
export const chat = new Hono<AppEnv>().post("/v1/chat/completions", async (c) => {
  const body = parseBody(chatRequestSchema, await readJson(c.req.raw));
  const stream = body.stream === true;
  const call = await proxy(c, "chat", body, stream);
  const { response } = call.up;

  if (stream && response.body) {
    const wantsUsage = body.stream_options?.include_usage === true;
    const watched = watchChatStream(response.body, !wantsUsage);
    call.finish(watched.done);
    return call.sse(watched.body);
  }
  const text = await call.text(); // adds x-sluice-cost-usd to call.headers
  return new Response(text, { headers: { "content-type": "application/json", ...call.headers } });
});
