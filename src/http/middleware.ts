import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { loadConfig } from "../config/load";
import { checkEnv } from "../env";
import { buildServices } from "../pipeline/services";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";
import { CLIENT_ID, newRequestId, type RequestIds, stampIds } from "./ids";

const limiters = new Map<number, MiddlewareHandler>();

/** Hono's bodyLimit for `max` (one per limit): it counts a body sent without Content-Length as it streams in. */
function streamedLimit(max: number): MiddlewareHandler {
  let mw = limiters.get(max);
  if (!mw) {
    mw = bodyLimit({
      maxSize: max,
      onError: () => {
        throw tooLarge(max);
      },
    });
    limiters.set(max, mw);
  }
  return mw;
}

const tooLarge = (max: number) =>
  new GatewayError("request_too_large", `Request body exceeds the limit of ${max} bytes.`);

/**
 * The one global middleware, in order: the request's ids (a gateway-made `requestId`: spend rows, limit windows
 * and settlements are keyed by it; the client's own `x-request-id`, when sane, kept as `clientRequestId`:
 * echoed and stored, never trusted to be unique) → bindings checked and the config loaded (both memoized per
 * isolate) → the request's services → bodies over `limits.maxBodyBytes` refused with a 413 (by Content-Length,
 * or counted as a body without one streams in) → the route → the id headers on the answer (idHeaders). One
 * middleware rather than three: each is a step of Hono's dispatch on every request.
 */
export const gate = createMiddleware<AppEnv>(async (c, next) => {
  const req = c.req.raw;
  const given = req.headers.get("x-request-id");
  const ids: RequestIds = {
    requestId: newRequestId(),
    clientRequestId: given && CLIENT_ID.test(given) ? given : null,
  };
  c.set("requestId", ids.requestId);
  c.set("clientRequestId", ids.clientRequestId);
  checkEnv(c.env);
  const config = loadConfig(c.env);
  c.set("config", config);
  c.set("services", buildServices(c.env, config, c.executionCtx));
  const max = config.limits.maxBodyBytes;
  const length = req.headers.get("content-length");
  if (length !== null && !req.headers.has("transfer-encoding")) {
    if (Number.parseInt(length, 10) > max) throw tooLarge(max);
    await next();
  } else if (req.body) {
    await streamedLimit(max)(c, next);
  } else {
    await next();
  }
  stampIds(c.res, ids);
});
