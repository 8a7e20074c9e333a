import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { keyCache } from "../keys/cache";
import { hashSecret, looksLikeKey, safeEqual } from "../keys/secret";
import type { KeyRecord, KeyStore } from "../keys/store";
import { type BrowserToken, TOKEN_PREFIX, verifyToken } from "../tokens/token";
import type { AppEnv } from "./context";
import { withCors } from "./cors";
import { GatewayError } from "./errors";

/** The bearer token, or (for Anthropic clients) `x-api-key`. */
function presentedToken(req: Request): string | null {
  const auth = req.headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1] ?? null;
  }
  return req.headers.get("x-api-key");
}

/** A key record by SHA-256 of its secret, or by id (`id:<id>`, for browser tokens), through the cache. */
async function lookup(
  c: Context<AppEnv>,
  cacheKey: string,
  load: (s: KeyStore) => Promise<KeyRecord | null>,
) {
  let key = keyCache.get(cacheKey);
  if (!key) {
    const found = await load(c.var.services.keys);
    if (!found) return null;
    key = found;
    keyCache.set(cacheKey, key, c.var.config.keys.cacheTtlSeconds * 1000);
  }
  return key;
}

/** A browser token: its signature and expiry, its page's origin, and its parent key still allowing both. */
async function tokenAuth(
  c: Context<AppEnv>,
  token: string,
): Promise<{ key: KeyRecord; token: BrowserToken }> {
  const v = await verifyToken(token, c.env.TOKEN_SECRET ?? c.env.ADMIN_TOKEN);
  if (!v.ok) {
    throw v.reason === "expired"
      ? new GatewayError("key_expired", "This browser token has expired; get a new one from your server.")
      : new GatewayError("invalid_api_key", "Invalid browser token.");
  }
  const origin = c.req.header("origin");
  if (!origin || !v.token.origins.includes(origin)) {
    throw new GatewayError(
      "origin_not_allowed",
      origin
        ? `This browser token may not be used from ${origin}.`
        : "A browser token is only accepted from a page of an origin it was minted for (Origin header).",
    );
  }
  const key = await lookup(c, `id:${v.token.keyId}`, (s) => s.byId(v.token.keyId));
  if (!key) throw new GatewayError("invalid_api_key", "Invalid browser token.");
  return { key, token: v.token };
}

/**
 * Authenticates a Sluice key or a browser token and puts the key on `c.var.key` (a token's parent key, the
 * token itself on `c.var.token`). Lookups go through the in-isolate cache, so a warm request does no I/O; D1
 * is asked by SHA-256 of the secret, never by the secret. A request with an `Origin` header (a browser) is
 * refused unless the key allows that origin.
 */
async function authenticate(c: Context<AppEnv>, origin: string | null): Promise<void> {
  const presented = presentedToken(c.req.raw);
  if (!presented) {
    throw new GatewayError(
      "missing_api_key",
      "Missing API key. Send 'Authorization: Bearer <your Sluice key>'.",
    );
  }
  let key: KeyRecord | null;
  let token: BrowserToken | null = null;
  if (presented.startsWith(TOKEN_PREFIX)) {
    ({ key, token } = await tokenAuth(c, presented));
  } else {
    if (!looksLikeKey(presented)) throw new GatewayError("invalid_api_key", "Invalid API key.");
    const hash = await hashSecret(presented);
    key = await lookup(c, hash, (s) => s.byHash(hash));
    if (!key) throw new GatewayError("invalid_api_key", "Invalid API key.");
  }
  if (key.revokedAt) throw new GatewayError("invalid_api_key", "This API key has been revoked.");
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
    throw new GatewayError("key_expired", `This API key expired at ${key.expiresAt}.`);
  }
  if (origin !== null && !key.browserOrigins?.includes(origin)) {
    throw new GatewayError(
      "origin_not_allowed",
      key.browserOrigins
        ? `This key may not be used from ${origin}.`
        : "This key is not enabled for browsers (a request with an Origin header). Mint a browser token with POST /v1/tokens, from a key created with browser.origins.",
    );
  }
  c.set("key", key);
  c.set("token", token);
}

/**
 * `/v1/*`: key authentication (authenticate), inside CORS for a browser's request (cors.ts). One middleware, a
 * step of Hono's dispatch fewer on every call; a request without `Origin` (a server, an agent) skips CORS.
 */
export const clientAuth = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.raw.headers.get("origin") || null; // an empty Origin is none
  if (origin === null) {
    await authenticate(c, null);
    return next();
  }
  return withCors(c, origin, async () => {
    await authenticate(c, origin);
    await next();
  });
});

/** Guards `/admin/*` with the `ADMIN_TOKEN` secret, compared in constant time. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = presentedToken(c.req.raw);
  if (!token || !(await safeEqual(token, c.env.ADMIN_TOKEN))) {
    throw new GatewayError(
      "invalid_admin_token",
      "Admin endpoints need 'Authorization: Bearer <ADMIN_TOKEN>'.",
    );
  }
  await next();
});
