import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { handle } from "../inbound/handle";
import { openAIChat } from "../inbound/openai-chat";

/** `POST /v1/chat/completions` — OpenAI chat, streamed as SSE when `stream: true`. */
export const chat = new Hono<AppEnv>().post("/v1/chat/completions", handle(openAIChat));
