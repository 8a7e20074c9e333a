import { Hono } from "hono";
import { embeddingsRequestSchema } from "../formats/openai";
import { usageOfJson } from "../formats/usage";
import type { AppEnv } from "../http/context";
import { parseBody, readJson } from "../http/validate";
import { proxy } from "../pipeline/proxy";

/** `POST /v1/embeddings` — OpenAI embeddings. */
export const embeddings = new Hono<AppEnv>().post("/v1/embeddings", async (c) => {
  const body = parseBody(embeddingsRequestSchema, await readJson(c.req.raw));
  const call = await proxy(c, "embeddings", body, false);
  const text = await call.up.response.text();
  call.finish(Promise.resolve({ usage: usageOfJson(text), completed: true }));
  return new Response(text, { headers: { "content-type": "application/json", ...call.headers } });
});
