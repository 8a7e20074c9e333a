import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { anthropicMessages } from "../inbound/anthropic-messages";
import { handle } from "../inbound/handle";

/** `POST /v1/messages` — Anthropic's wire format inbound, routed to any provider (see inbound/anthropic-messages.ts). */
export const messages = new Hono<AppEnv>().post("/v1/messages", handle(anthropicMessages));
