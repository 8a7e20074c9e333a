import { Hono } from "hono";
import { chatRequestSchema } from "../formats/openai";
import { usageOfJson } from "../formats/usage";
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
    return new Response(watched.body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        ...call.headers,
      },
    });
  }

  const text = await response.text();
  call.finish(Promise.resolve({ usage: usageOfJson(text), completed: true }));
  return new Response(text, { headers: { "content-type": "application/json", ...call.headers } });
});
