import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../http/context";
import { forgetOrigins } from "../http/cors";
import { GatewayError } from "../http/errors";
import { limitFields, limitsView, originSchema } from "../http/limits-schema";
import { parseBody, readJson } from "../http/validate";
import { keyCache } from "../keys/cache";
import type { KeyRecord } from "../keys/store";
import { keyLimiterUsage } from "../limits/enforce";
import { querySpend, sumsJson } from "../spend/query";

const name = z.string().trim().min(1).max(200);

/** Key settings, for creation (all optional but `name`) and update (all optional; null clears). */
const settings = {
  team: name.nullable().optional(),
  models: z.array(z.string().min(1).max(200)).max(100).nullable().optional(),
  metadata: z
    .record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
    .refine((m) => Object.keys(m).length <= 50, "metadata holds at most 50 entries")
    .optional(),
  expiresAt: z.iso
    .datetime({ offset: true, message: "expiresAt must be an ISO 8601 date-time" })
    .refine((s) => Date.parse(s) > Date.now(), "expiresAt must be in the future")
    .transform((s) => new Date(s).toISOString())
    .nullable()
    .optional(),
  ...limitFields,
  limitMode: z.enum(["strict", "overlap"]).nullable().optional(),
  shards: z.number().int().min(1).max(64).optional(),
  browser: z
    .strictObject({ origins: z.array(originSchema).min(1).max(50) })
    .nullable()
    .optional(),
};

const toInput = <T extends { browser?: { origins: string[] } | null | undefined }>({
  browser,
  ...rest
}: T) => ({
  ...rest,
  browserOrigins: browser === undefined ? undefined : (browser?.origins ?? null),
});

export const createSchema = z.strictObject({ name, ...settings }).transform(toInput);
export const updateSchema = z.strictObject({ name: name.optional(), ...settings }).transform(toInput);

/** The public view of a key: everything but the secret. */
function view(k: KeyRecord) {
  return {
    id: k.id,
    object: "key",
    name: k.name,
    team: k.team,
    models: k.models,
    metadata: k.metadata,
    prefix: k.prefix,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    status: k.revokedAt
      ? "revoked"
      : k.expiresAt && Date.parse(k.expiresAt) <= Date.now()
        ? "expired"
        : "active",
    ...limitsView(k.limits),
    limitMode: k.limitMode ?? (k.limits.budget || k.teamLimits?.budget ? "strict" : "overlap"),
    shards: k.shards,
    browser: k.browserOrigins && { origins: k.browserOrigins },
  };
}

async function found(p: Promise<KeyRecord | null>, id: string): Promise<KeyRecord> {
  const k = await p;
  if (!k) throw new GatewayError("not_found", `No key with id '${id}'.`, { param: "id" });
  return k;
}

/** Drops what this isolate cached about a key (its lookups, the CORS origin list). */
function changed(id: string) {
  keyCache.evict(id);
  forgetOrigins();
}

/** `/admin/keys` — create (the secret is shown once), list, read (with spend so far), update, rotate, revoke. */
export const adminKeys = new Hono<AppEnv>()
  .post("/admin/keys", async (c) => {
    const input = parseBody(createSchema, await readJson(c.req.raw));
    const { record, secret } = await c.var.services.keys.create(input);
    forgetOrigins();
    return c.json({ ...view(record), key: secret }, 201);
  })
  .get("/admin/keys", async (c) => {
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 100) || 100, 1), 1000);
    const data = await c.var.services.keys.list({ limit, after: c.req.query("after") });
    return c.json({ object: "list", data: data.map(view), hasMore: data.length === limit });
  })
  .get("/admin/keys/:id", async (c) => {
    const id = c.req.param("id");
    const k = await found(c.var.services.keys.byId(id), id);
    const [usage, spend] = await Promise.all([
      keyLimiterUsage(c.var.services.limiters, k),
      querySpend(c.env.DB, { fromMs: 0, toMs: Date.now() + 1, groupBy: null, filters: { key: id } }),
    ]);
    const total = spend[0] ? sumsJson(spend[0]) : null;
    return c.json({
      ...view(k),
      spend: { requests: total?.requests ?? 0, costUsd: total?.costUsd ?? 0, recorded: "ledger" },
      limiter: usage,
    });
  })
  .patch("/admin/keys/:id", async (c) => {
    const id = c.req.param("id");
    const input = parseBody(updateSchema, await readJson(c.req.raw));
    const k = await found(c.var.services.keys.update(id, input), id);
    changed(id);
    return c.json(view(k));
  })
  .post("/admin/keys/:id/rotate", async (c) => {
    const id = c.req.param("id");
    const rotated = await c.var.services.keys.rotate(id);
    if (!rotated) {
      await found(c.var.services.keys.byId(id), id);
      throw new GatewayError("invalid_request", `Key '${id}' is revoked; a revoked key cannot be rotated.`);
    }
    changed(id);
    return c.json({ ...view(rotated.record), key: rotated.secret });
  })
  .delete("/admin/keys/:id", async (c) => {
    const id = c.req.param("id");
    const k = await found(c.var.services.keys.revoke(id), id);
    changed(id);
    return c.json(view(k));
  });
