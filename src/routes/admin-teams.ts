import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { limitFields, limitsView, settingsOf } from "../http/limits-schema";
import { parseBody, readJson } from "../http/validate";
import { keyCache } from "../keys/cache";
import type { TeamRecord } from "../limits/teams";

export const teamSchema = z.strictObject(limitFields);

const view = (t: TeamRecord) => ({
  object: "team",
  name: t.name,
  ...limitsView(t.limits),
  updatedAt: t.updatedAt,
});

/**
 * `/admin/teams/:name` — a team's limits (rpm, tpm, maxConcurrent, budget), which cap all keys naming the
 * team together. Keys pick the change up within `keys.cacheTtlSeconds` (at once in this isolate).
 */
export const adminTeams = new Hono<AppEnv>()
  .get("/admin/teams", async (c) => {
    const data = await c.var.services.teams.list();
    return c.json({ object: "list", data: data.map(view) });
  })
  .put("/admin/teams/:name", async (c) => {
    const input = parseBody(teamSchema, await readJson(c.req.raw));
    const t = await c.var.services.teams.put(c.req.param("name"), settingsOf(input));
    keyCache.clear();
    return c.json(view(t));
  })
  .get("/admin/teams/:name", async (c) => {
    const t = await c.var.services.teams.get(c.req.param("name"));
    if (!t) throw new GatewayError("not_found", `No limits set for team '${c.req.param("name")}'.`);
    return c.json(view(t));
  })
  .delete("/admin/teams/:name", async (c) => {
    const removed = await c.var.services.teams.remove(c.req.param("name"));
    if (!removed) throw new GatewayError("not_found", `No limits set for team '${c.req.param("name")}'.`);
    keyCache.clear();
    return c.json({ object: "team", name: c.req.param("name"), deleted: true });
  });
