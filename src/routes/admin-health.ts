import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../http/context";
import { parseBody, readJson } from "../http/validate";
import { breakersFor } from "../routing/breaker";
import { targetHealth } from "../routing/breaker/health";

/** `PUT /admin/breakers/{provider}/{model}`'s body. */
export const breakerForceSchema = z.strictObject({
  state: z
    .enum(["open", "closed"])
    .describe("`open` holds the breaker open (no probes) until closed by hand; `closed` clears its failures"),
});

/**
 * `/admin/health` — every target's breaker (state, failures in the window, when it opened, forced) with this
 * isolate's recent figures for it by id (routing/stats.ts: latency, error rate, requests, errors, last error);
 * `PUT /admin/breakers/{provider}/{model}` opens or closes one by hand (the model may hold `/`).
 */
export const adminHealth = new Hono<AppEnv>()
  .get("/admin/health", async (c) => {
    const s = c.var.services;
    return c.json({ object: "health", targets: await targetHealth(s.env, s.waitUntil) });
  })
  .put("/admin/breakers/:provider/:model{.+}", async (c) => {
    const { state } = parseBody(breakerForceSchema, await readJson(c.req.raw));
    const s = c.var.services;
    const id = `${c.req.param("provider")}/${c.req.param("model")}`;
    const b = await breakersFor(s.env, s.waitUntil).force(id, state);
    return c.json({
      object: "breaker",
      ...b,
      openedAt: b.openedAt === null ? null : new Date(b.openedAt).toISOString(),
    });
  });
