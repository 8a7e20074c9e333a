import type { Context } from "hono";
import { formatOf } from "../inbound";
import type { AppEnv } from "./context";
import { errorResponse, GatewayError } from "./errors";
import { stampIds } from "./ids";

/** The error shape of a path: its inbound format's (Anthropic's under `/v1/messages`), else OpenAI's. */
export const shapeOf = (path: string) => formatOf(path)?.errorShape ?? "openai";

/**
 * A refusal or failure as the answer: in the path's error shape, with the request's ids (a refusal by `gate`
 * itself, a body too large, returns past its stamping). Anything but a GatewayError is logged (a bug) and
 * answered as a 500 that says nothing of it. The app's `onError`, and CORS's for a refusal inside it.
 */
export function answerError(err: unknown, c: Context<AppEnv>): Response {
  if (!(err instanceof GatewayError))
    console.error(JSON.stringify({ event: "sluice.error", requestId: c.var.requestId, error: String(err) }));
  return stampIds(errorResponse(err, {}, shapeOf(c.req.path)), c.var);
}
