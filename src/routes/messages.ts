import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { anthropicMessages } from "../inbound/anthropic-messages";
import { countTokens } from "../inbound/count-tokens";
import { handle } from "../inbound/handle";

/**
 * `POST /v1/messages` — Anthropic's wire format inbound, routed to any provider (see inbound/anthropic-messages.ts);
 * `POST /v1/messages/count_tokens` — its token count (inbound/count-tokens.ts).
 */
export const messages = new Hono<AppEnv>()
  .post("/v1/messages", handle(anthropicMessages))
  .post("/v1/messages/count_tokens", countTokens);
