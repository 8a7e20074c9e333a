import { Hono } from "hono";
import { embeddingsRequestSchema } from "../formats/openai";
import type { AppEnv } from "../http/context";
import { parseBody, readJson } from "../http/validate";
import { proxy } from "../pipeline/proxy";

/** `POST /v1/embeddings` — OpenAI embeddings. */
export const embeddings = new Hono<AppEnv>().post("/v1/embeddings", async (c) => {
  const body = parseBody(embeddingsRequestSchema, await readJson(c.req.raw));
  const call = await proxy(c, "embeddings", body, false);
  const text = await call.text(); // adds x-sluice-cost-usd to call.headers
  return new Response(text, { headers: { "content-type": "application/json", ...call.headers } });
});
