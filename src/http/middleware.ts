import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { loadConfig } from "../config/load";
import { checkEnv } from "../env";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";

const CLIENT_ID = /^[\w.:-]{1,128}$/;

/** Takes the client's `x-request-id` when it is sane, else makes one; echoes it on every response. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const given = c.req.header("x-request-id");
  const id = given && CLIENT_ID.test(given) ? given : `req_${crypto.randomUUID().replaceAll("-", "")}`;
  c.set("requestId", id);
  await next();
  c.res.headers.set("x-request-id", id);
});

/** Checks bindings and loads the gateway config (both memoized per isolate) for every request. */
export const init = createMiddleware<AppEnv>(async (c, next) => {
  checkEnv(c.env);
  c.set("config", loadConfig(c.env));
  await next();
});

const limiters = new Map<number, MiddlewareHandler>();

/** Refuses bodies over `limits.maxBodyBytes` with a 413, by Content-Length or while streaming in. */
export const limitBody = createMiddleware<AppEnv>(async (c, next) => {
  const max = c.var.config.limits.maxBodyBytes;
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
