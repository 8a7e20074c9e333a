import type { Context } from "hono";
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { parseBody } from "../http/validate";
import { formatUsd } from "../spend/money";
import {
  GROUP_BY,
  groupsCsv,
  querySpend,
  type RecentCall,
  recentCalls,
  type SpendQuery,
  sumGroups,
  sumsJson,
} from "../spend/query";

/** Calls listed when a spend query names a client request id (how support finds a customer's call). */
const MAX_CALLS = 100;

const DAY_MS = 86_400_000;
/** An ISO 8601 date (`2026-11-01`, midnight UTC) or date-time with offset. */
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    message: "must be an ISO 8601 date or date-time",
  })
  .transform((s) => Date.parse(s));
const name = z.string().min(1).max(200);

export const querySchema = z
  .strictObject({
    from: instant.optional(),
    to: instant.optional(),
    group_by: z.enum(GROUP_BY).optional(),
    format: z.enum(["json", "csv"]).default("json"),
    key: name.optional(),
    team: name.optional(),
    model: name.optional(),
    provider: name.optional(),
    client_request_id: name.optional(),
  })
  .transform((q, ctx) => {
    const toMs = q.to ?? Date.now();
    const fromMs = q.from ?? toMs - 30 * DAY_MS;
    if (fromMs >= toMs) ctx.addIssue({ code: "custom", message: "from must be before to", path: ["from"] });
    return { ...q, fromMs, toMs };
  });

/** Answers a spend query (JSON or CSV); `ownKey` pins it to one key (`/v1/spend`). */
async function answer(c: Context<AppEnv>, ownKey?: string) {
  const q = parseBody(querySchema, c.req.query());
  if (ownKey && q.key !== undefined && q.key !== ownKey) {
    throw new GatewayError(
      "invalid_request",
      "The key filter is not available here: /v1/spend shows this key's own spend.",
      {
        param: "key",
      },
    );
  }
  const query: SpendQuery = {
    fromMs: q.fromMs,
    toMs: q.toMs,
    groupBy: q.group_by ?? null,
    filters: {
      key: ownKey ?? q.key,
      team: q.team,
      model: q.model,
      provider: q.provider,
      client_request_id: q.client_request_id,
    },
  };
  const byClientId = q.client_request_id !== undefined;
  const [groups, calls] = await Promise.all([
    querySpend(c.env.DB, query),
    byClientId ? recentCalls(c.env.DB, query, MAX_CALLS) : Promise.resolve(null),
  ]);
  if (q.format === "csv") {
    return c.body(groupsCsv(groups), 200, { "content-type": "text/csv; charset=utf-8" });
  }
  return c.json({
    object: "spend",
    from: new Date(q.fromMs).toISOString(),
    to: new Date(q.toMs).toISOString(),
    groupBy: q.group_by ?? null,
    total: sumsJson(sumGroups(groups)),
    groups: groups.map((g) => ({ group: g.group, ...sumsJson(g) })),
    ...(calls ? { calls: calls.map(callJson) } : {}),
  });
}

/** One call of a spend query by client request id: the gateway's id beside the client's, and what it did. */
function callJson(r: RecentCall) {
  return {
    requestId: r.requestId,
    clientRequestId: r.clientRequestId,
    at: new Date(r.ts).toISOString(),
    key: r.keyId,
    team: r.team,
    model: r.model,
    provider: r.provider,
    status: r.status,
    errorCode: r.errorCode,
    stream: r.stream,
    completed: r.completed,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    costUsd: r.costPicoUsd === null ? null : Number(formatUsd(r.costPicoUsd)),
    cache: r.cache,
    latencyMs: r.latencyMs,
  };
}

/** `GET /admin/spend` — every key's spend over [from, to), grouped and filtered; JSON or CSV. */
export const adminSpend = new Hono<AppEnv>().get("/admin/spend", (c) => answer(c));

/** `GET /v1/spend` — the calling key's own spend, same query and shape as `/admin/spend`. */
export const keySpend = new Hono<AppEnv>().get("/v1/spend", (c) => {
  if (c.var.token) {
    throw new GatewayError("token_not_allowed", "Browser tokens cannot read spend; ask your server.");
  }
  return answer(c, c.var.key.id);
});
