import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { handle } from "../inbound/handle";
import { openAIEmbeddings } from "../inbound/openai-embeddings";

/** `POST /v1/embeddings` — OpenAI embeddings. */
export const embeddings = new Hono<AppEnv>().post("/v1/embeddings", handle(openAIEmbeddings));
