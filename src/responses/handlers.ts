import type { Context } from "hono";
import { validateResponsesRequest } from "../formats/responses";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { readJsonText } from "../http/validate";
import { callInput } from "../inbound/handle";
import { keepAnswer, openAIResponses } from "../inbound/openai-responses";
import { runCall } from "../pipeline/call";
import { conversations } from "./conversations";
import { notFound, resolveInput } from "./resolve";

type Json = Record<string, unknown>;

/**
 * `POST /v1/responses`: the request checked (400s first), this key's stored state brought in (resolve.ts), the
 * keeper handed to the format when the request stores (`store` true or omitted), then the one pipeline.
 */
export async function createResponse(c: Context<AppEnv>): Promise<Response> {
  const { text, json } = await readJsonText(c.req.raw);
  const req = validateResponsesRequest(json);
  const s = c.get("services");
  const stored = conversations(s.env);
  const keyId = c.get("key").id;
  const { items, changed, holders } = await resolveInput(stored, keyId, req);
  const body = changed ? { ...(json as Json), input: items } : json;
  const { raw, standalone } = passthroughBodies(text, body as Json, changed, holders);
  if (req.store !== false) {
    keepAnswer(c.req.raw.headers, stored.keeper({ keyId, input: items, waitUntil: s.waitUntil }));
  }
  return runCall(s, openAIResponses, { ...callInput(c.req.raw, c.var, raw, body), standalone });
}

/**
 * What a passthrough target (OpenAI, Azure) is sent. The client's own bytes when Sluice added nothing, or when
 * all the stored state it named is held by one provider (a chain of that provider's passthrough answers): that
 * provider gets them as they came and resolves `previous_response_id` itself; every other target gets the
 * `standalone` body, the conversation written in and the id taken out (it knows no such response).
 */
function passthroughBodies(
  text: string,
  body: Json,
  changed: boolean,
  holders: Set<string | null>,
): { raw: string; standalone?: { holder: string | null; body: string } } {
  if (!changed) return { raw: text };
  const { previous_response_id: _held, ...rest } = body;
  const whole = JSON.stringify(rest);
  const [holder] = holders;
  if (holders.size === 1 && holder) return { raw: text, standalone: { holder, body: whole } };
  return { raw: whole };
}

/** This key's stored response named in the path, or a 404. */
async function storedOf(c: Context<AppEnv>) {
  const id = c.req.param("id") ?? "";
  const found = await conversations(c.var.services.env).load(c.var.key.id, id);
  if (!found) throw notFound("Response", id);
  return found;
}

/** `GET /v1/responses/{id}`: the stored Response object (this key's only). */
export async function retrieveResponse(c: Context<AppEnv>): Promise<Response> {
  if (c.req.query("stream") === "true") {
    throw new GatewayError("unsupported_parameter", "Sluice does not replay stored responses as streams.", {
      param: "stream",
    });
  }
  return c.json((await storedOf(c)).response);
}

/** `DELETE /v1/responses/{id}`: `{id, object: "response", deleted: true}`, or a 404. */
export async function deleteResponse(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const deleted = await conversations(c.var.services.env).delete(c.var.key.id, id);
  if (!deleted) throw notFound("Response", id);
  return c.json({ id, object: "response", deleted: true });
}

/**
 * `GET /v1/responses/{id}/input_items`: the input items the response answered (previous turns included), as a
 * cursor page: `order` (desc by default), `limit` (1–100, default 20), `after` (an item id).
 */
export async function listInputItems(c: Context<AppEnv>): Promise<Response> {
  const { input } = await storedOf(c);
  const order = c.req.query("order") ?? "desc";
  const limit = Number(c.req.query("limit") ?? 20);
  if (order !== "asc" && order !== "desc") {
    throw new GatewayError("invalid_request", "order must be 'asc' or 'desc'.", { param: "order" });
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new GatewayError("invalid_request", "limit must be an integer from 1 to 100.", { param: "limit" });
  }
  const items = order === "asc" ? input : [...input].reverse();
  const after = c.req.query("after");
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const page = after && start === 0 ? [] : items.slice(start, start + limit);
  return c.json({
    object: "list",
    data: page,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: page.length > 0 && start + limit < items.length,
  });
}
