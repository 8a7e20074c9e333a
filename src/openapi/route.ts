import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { openApiJson } from "./document";

/** `GET /openapi.json` — the OpenAPI 3.1 document (document.ts): public, the same for every caller, cacheable. */
export const openapi = new Hono<AppEnv>().get("/openapi.json", (c) =>
  c.body(openApiJson(), 200, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "public, max-age=3600",
  }),
);
