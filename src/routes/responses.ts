import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { createResponse, deleteResponse, listInputItems, retrieveResponse } from "../responses/handlers";

/**
 * `/v1/responses` — OpenAI's Responses API inbound, routed to any provider (see inbound/openai-responses.ts),
 * with stored responses (src/responses/): create, retrieve, delete, list input items; each key sees its own.
 */
export const responses = new Hono<AppEnv>()
  .post("/v1/responses", createResponse)
  .get("/v1/responses/:id", retrieveResponse)
  .delete("/v1/responses/:id", deleteResponse)
  .get("/v1/responses/:id/input_items", listInputItems);
