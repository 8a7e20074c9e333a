import type { Context } from "hono";
import { resolveModel } from "../config/resolve";
import { messagesEnvelopeSchema } from "../formats/anthropic";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { parseBody, readJsonText } from "../http/validate";
import { assertModelAllowed, assertTokenModel } from "../keys/allow";
import { estimateInputTokens } from "../limits/estimate";
import { adapterFor } from "../providers";
import { translatedRequest } from "./anthropic-messages";

/** Response header saying the count is the gateway's estimate (no target counts Anthropic tokens). */
export const ESTIMATED_HEADER = "x-sluice-token-count";

/**
 * `POST /v1/messages/count_tokens`: passed through to the first target of the model that speaks Anthropic's
 * format (its answer, or its error, as it comes); for other targets the gateway's estimate (about four
 * characters a token), said so by `x-sluice-token-count: estimated`. Free: no limit is asked, no spend row.
 */
export async function countTokens(c: Context<AppEnv>): Promise<Response> {
  const { text, json } = await readJsonText(c.req.raw);
  // The count takes a messages request without `max_tokens`.
  const withMax = typeof json === "object" && json !== null ? { max_tokens: 1, ...json } : json;
  // What the gateway reads; the blocks are the counting target's to check, or checked below for the estimate.
  const req = parseBody(messagesEnvelopeSchema, withMax);
  const route = resolveModel(c.var.config, req.model);
  assertModelAllowed(c.var.key, req.model);
  if (c.var.token) assertTokenModel(c.var.token, req.model);
  for (const target of route.targets) {
    const adapter = adapterFor(target.provider);
    if (adapter.speaks !== "anthropic" || !adapter.passthrough) continue;
    const res = await adapter
      .passthrough(
        { op: "chat", body: {}, stream: false, target, signal: c.req.raw.signal, env: c.env },
        {
          format: "anthropic",
          path: "/v1/messages/count_tokens",
          body: text,
          headers: c.req.raw.headers,
          query: new URL(c.req.url).search,
        },
      )
      .catch((e) => {
        if (e instanceof GatewayError) throw e;
        throw new GatewayError(
          "upstream_unreachable",
          `Provider '${target.providerName}' could not be reached.`,
        );
      });
    if (!res) continue; // a target that cannot count (Vertex): the next, else the estimate
    return new Response(res.body, {
      status: res.status,
      headers: {
        "content-type": res.headers.get("content-type") ?? "application/json",
        [ESTIMATED_HEADER]: "exact",
      },
    });
  }
  const { body } = translatedRequest(req, withMax);
  return c.json({ input_tokens: estimateInputTokens(body, 4) }, 200, { [ESTIMATED_HEADER]: "estimated" });
}
