import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { loadConfig } from "../config/load";
import { toHex } from "../crypto/hash";
import { checkEnv } from "../env";
import { buildServices } from "../pipeline/services";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";

const CLIENT_ID = /^[\w.:-]{1,128}$/;

/**
 * A gateway request id: `req_`, then 32 hex digits — the time in milliseconds (12), then 80 random bits (20).
 * Ids made later sort later, so the ledger's primary-key index on D1 grows at its right edge rather than at
 * random pages: the insert of a flushed batch touches a few hot pages instead of one page per row.
 */
export function newRequestId(now = Date.now()): string {
  return `req_${now.toString(16).padStart(12, "0")}${toHex(crypto.getRandomValues(new Uint8Array(10)))}`;
}

/**
 * Gives every request a gateway-made id (`requestId`: spend rows, limit windows and settlements are keyed by
 * it) and keeps the client's own `x-request-id`, when sane, as data (`clientRequestId`: echoed and stored,
 * never trusted to be unique). Every answer carries `x-request-id` (the client's id, else the gateway's),
 * `x-sluice-request-id` (the gateway's) and `X-Content-Type-Options: nosniff` (no browser reads a JSON error
 * or an SSE body as HTML).
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const given = c.req.header("x-request-id");
  const client = given && CLIENT_ID.test(given) ? given : null;
  const id = newRequestId();
  c.set("requestId", id);
  c.set("clientRequestId", client);
  await next();
  const h = c.res.headers;
  h.set("x-request-id", client ?? id);
  h.set("x-sluice-request-id", id);
  h.set("x-content-type-options", "nosniff");
});

/** Checks bindings and loads the gateway config (both memoized per isolate), then builds the request's services. */
export const init = createMiddleware<AppEnv>(async (c, next) => {
  checkEnv(c.env);
  const config = loadConfig(c.env);
  c.set("config", config);
  c.set("services", buildServices(c.env, config, c.executionCtx));
  await next();
});

const limiters = new Map<number, MiddlewareHandler>();

/** Refuses bodies over `limits.maxBodyBytes` with a 413, by Content-Length or while streaming in. */
export const limitBody = createMiddleware<AppEnv>(async (c, next) => {
  const max = c.get("config").limits.maxBodyBytes;
  let mw = limiters.get(max);
  if (!mw) {
    mw = bodyLimit({
      maxSize: max,
      onError: () => {
        throw new GatewayError("request_too_large", `Request body exceeds the limit of ${max} bytes.`);
      },
    });
    limiters.set(max, mw);
  }
  return mw(c, next);
});
