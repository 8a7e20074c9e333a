import { Hono } from "hono";
import { listModels } from "../config/resolve";
import type { AppEnv } from "../http/context";
import { modelAllowed } from "../keys/allow";

/** `GET /v1/models` — the models this key may use, in OpenAI's list shape. */
export const models = new Hono<AppEnv>().get("/v1/models", (c) => {
  const data = listModels(c.var.config)
    .filter((m) => modelAllowed(c.var.key, m.id))
    .map((m) => ({ id: m.id, object: "model", created: 0, owned_by: m.ownedBy }));
  return c.json({ object: "list", data });
});
