import { Hono } from "hono";
import { responseStore } from "../cache";
import { cacheStats, purge } from "../cache/admin";
import type { AppEnv } from "../http/context";
import { parseBody } from "../http/validate";
import { purgeQuery, statsQuery } from "./admin-cache-query";

const DAY_MS = 86_400_000;

/**
 * `/admin/cache` — `DELETE` purges cached answers by scope (a key id, `team:<name>`, `user:<id>`, `global`),
 * alias (`model`) and `tag`, together or alone (none: everything); `GET` gives per-alias stats since `from`
 * (default: 30 days ago): entries, hits, misses and savings (from the ledger), shadow and verified checks.
 */
export const adminCache = new Hono<AppEnv>()
  .delete("/admin/cache", async (c) => {
    const f = parseBody(purgeQuery, c.req.query());
    const semantic = c.var.services.cache?.semantic ?? null;
    const r = await purge(responseStore(c.env), semantic, f);
    return c.json({ object: "cache.purge", ...r });
  })
  .get("/admin/cache", async (c) => {
    const q = parseBody(statsQuery, c.req.query());
    const since = q.from ? Date.parse(q.from) : Date.now() - 30 * DAY_MS;
    const stats = await cacheStats(responseStore(c.env), c.env.DB, c.var.config, since);
    return c.json({ object: "cache.stats", since: new Date(since).toISOString(), ...stats });
  });
