import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { parseBody, readJson } from "../http/validate";
import { keyCache } from "../keys/cache";
import { type KeyRecord, KeyStore } from "../keys/store";

const createSchema = z.strictObject({
  name: z.string().trim().min(1, "name is required").max(200),
  team: z.string().trim().min(1).max(200).optional(),
  models: z.array(z.string().min(1).max(200)).max(100).optional(),
  metadata: z
    .record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
    .refine((m) => Object.keys(m).length <= 50, "metadata holds at most 50 entries")
    .optional(),
  expiresAt: z.iso
    .datetime({ offset: true, message: "expiresAt must be an ISO 8601 date-time" })
    .refine((s) => Date.parse(s) > Date.now(), "expiresAt must be in the future")
    .transform((s) => new Date(s).toISOString())
    .optional(),
});

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
  };
}

async function found(p: Promise<KeyRecord | null>, id: string): Promise<KeyRecord> {
  const k = await p;
  if (!k) throw new GatewayError("not_found", `No key with id '${id}'.`, { param: "id" });
  return k;
}

/** `/admin/keys` — create (the secret is shown once), list, read, revoke. */
export const adminKeys = new Hono<AppEnv>()
  .post("/admin/keys", async (c) => {
    const input = parseBody(createSchema, await readJson(c.req.raw));
    const { record, secret } = await new KeyStore(c.env.DB).create(input);
    return c.json({ ...view(record), key: secret }, 201);
  })
  .get("/admin/keys", async (c) => {
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 100) || 100, 1), 1000);
    const data = await new KeyStore(c.env.DB).list({ limit, after: c.req.query("after") });
    return c.json({ object: "list", data: data.map(view), hasMore: data.length === limit });
  })
  .get("/admin/keys/:id", async (c) => {
    const id = c.req.param("id");
    return c.json(view(await found(new KeyStore(c.env.DB).byId(id), id)));
  })
  .delete("/admin/keys/:id", async (c) => {
    const id = c.req.param("id");
    const k = await found(new KeyStore(c.env.DB).revoke(id), id);
    keyCache.evict(id);
    return c.json(view(k));
  });
