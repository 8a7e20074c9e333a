import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { loadConfig } from "../config/load";
import type { GatewayConfig } from "../config/schema";
import { checkEnv } from "../env";
import type { Services } from "../pipeline/services";
import { buildServices } from "../pipeline/services";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";

const CLIENT_ID = /^[\w.:-]{1,128}$/;

/** A request's two ids: the gateway's own (everything that counts uses it) and the client's, when sane. */
export interface RequestIds {
  requestId: string;
  clientRequestId: string | null;
}

/** A fresh gateway id for the request, and its client's `x-request-id` if it is a sane one. */
export function requestIds(headers: Headers): RequestIds {
  const given = headers.get("x-request-id");
  return {
    requestId: `req_${crypto.randomUUID().replaceAll("-", "")}`,
    clientRequestId: given && CLIENT_ID.test(given) ? given : null,
  };
}

/**
 * What every answer carries: `x-request-id` (the client's id, else the gateway's), `x-sluice-request-id` (the
 * gateway's) and `X-Content-Type-Options: nosniff` (no browser reads a JSON error or an SSE body as HTML).
 */
export function stampAnswer(res: Response, ids: RequestIds): void {
  const h = res.headers;
  h.set("x-request-id", ids.clientRequestId ?? ids.requestId);
  h.set("x-sluice-request-id", ids.requestId);
  h.set("x-content-type-options", "nosniff");
}

/**
 * Gives every request a gateway-made id (`requestId`: spend rows, limit windows and settlements are keyed by
 * it) and keeps the client's own `x-request-id`, when sane, as data (`clientRequestId`: echoed and stored,
 * never trusted to be unique); stamps the answer (stampAnswer).
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const ids = requestIds(c.req.raw.headers);
  c.set("requestId", ids.requestId);
  c.set("clientRequestId", ids.clientRequestId);
  await next();
  stampAnswer(c.res, ids);
});

/** The request's config and services: bindings checked and config loaded (both memoized per isolate). */
export function prepare(
  env: AppEnv["Bindings"],
  ctx: Pick<ExecutionContext, "waitUntil">,
): { config: GatewayConfig; services: Services } {
  checkEnv(env);
  const config = loadConfig(env);
  return { config, services: buildServices(env, config, ctx) };
}

/** Checks bindings and loads the gateway config, then builds the request's services (prepare). */
export const init = createMiddleware<AppEnv>(async (c, next) => {
  const { config, services } = prepare(c.env, c.executionCtx);
  c.set("config", config);
  c.set("services", services);
  await next();
});

/** The 413 of a body over `limits.maxBodyBytes`. */
export const bodyTooLarge = (max: number) =>
  new GatewayError("request_too_large", `Request body exceeds the limit of ${max} bytes.`);

const limiters = new Map<number, MiddlewareHandler>();

/** Refuses bodies over `limits.maxBodyBytes` with a 413, by Content-Length or while streaming in. */
export const limitBody = createMiddleware<AppEnv>(async (c, next) => {
  const max = c.get("config").limits.maxBodyBytes;
  let mw = limiters.get(max);
  if (!mw) {
    mw = bodyLimit({
      maxSize: max,
      onError: () => {
        throw bodyTooLarge(max);
      },
    });
    limiters.set(max, mw);
  }
  return mw(c, next);
});
