import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { limitFields, originSchema, settingsOf } from "../http/limits-schema";
import { parseBody, readJson } from "../http/validate";
import { randomToken } from "../keys/secret";
import { type BrowserToken, signToken } from "../tokens/token";

/** A browser token lives an hour at most. */
const MAX_TTL_SECONDS = 3600;

export const mintSchema = z.strictObject({
  /** The end user the token is for (required: every browser call is attributable). */
  user: z.string().trim().min(1).max(200),
  /** Origins the token may be used from: a subset of the key's; all of the key's when omitted. */
  origins: z.array(originSchema).min(1).max(50).optional(),
  /** Model patterns the token may use, within the key's. */
  models: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
  expiresIn: z.number().int().min(1).max(MAX_TTL_SECONDS).default(900),
  ...limitFields,
});

/**
 * `POST /v1/tokens` — a server holding a browser-enabled key mints a short-lived, signed token for one end user
 * of its web app. The token works only from the given origins, only on the proxied endpoints, within its own
 * limits, and counts against the key's limits and budget too. It cannot mint tokens or reach /admin.
 */
export const tokens = new Hono<AppEnv>().post("/v1/tokens", async (c) => {
  if (c.var.token) {
    throw new GatewayError(
      "token_not_allowed",
      "A browser token cannot mint tokens; call this from your server with a key.",
    );
  }
  const key = c.var.key;
  if (!key.browserOrigins) {
    throw new GatewayError(
      "token_not_allowed",
      "This key is not enabled for browsers. Set browser.origins on it (PATCH /admin/keys/:id) to mint browser tokens.",
    );
  }
  const input = parseBody(mintSchema, await readJson(c.req.raw));
  const origins = input.origins ?? key.browserOrigins;
  const foreign = origins.filter((o) => !key.browserOrigins?.includes(o));
  if (foreign.length > 0) {
    throw new GatewayError("invalid_request", `Origins not allowed for this key: ${foreign.join(", ")}.`, {
      param: "origins",
    });
  }
  const now = Date.now();
  const keyExpiry = key.expiresAt ? Date.parse(key.expiresAt) : Number.POSITIVE_INFINITY;
  const exp = Math.min(now + input.expiresIn * 1000, keyExpiry);
  const claims: BrowserToken = {
    v: 1,
    id: `tok_${randomToken(16)}`,
    keyId: key.id,
    exp,
    origins,
    user: input.user,
    models: input.models ?? null,
    limits: settingsOf(input),
  };
  const token = await signToken(claims, c.env.TOKEN_SECRET ?? c.env.ADMIN_TOKEN);
  return c.json(
    {
      object: "browser_token",
      token,
      id: claims.id,
      expiresAt: new Date(exp).toISOString(),
      origins,
      user: claims.user,
      models: claims.models,
    },
    201,
  );
});
