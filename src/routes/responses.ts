import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { handle } from "../inbound/handle";
import { openAIResponses } from "../inbound/openai-responses";

/** `POST /v1/responses` — OpenAI's Responses API inbound, routed to any provider (see inbound/openai-responses.ts). */
export const responses = new Hono<AppEnv>().post("/v1/responses", handle(openAIResponses));
