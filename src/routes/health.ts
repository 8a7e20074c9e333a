import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** `GET /healthz` — 200 when the environment and config are valid (the gate middleware has checked both). */
export const health = new Hono<AppEnv>().get("/healthz", (c) =>
  c.json({
    ok: true,
    providers: Object.keys(c.var.config.providers).length,
    models: Object.keys(c.var.config.models).length,
  }),
);
