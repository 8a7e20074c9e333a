import { createMiddleware } from "hono/factory";
import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import { keyCache } from "../keys/cache";
import { hashSecret, looksLikeKey, safeEqual } from "../keys/secret";
import type { KeyRecord, KeyStore } from "../keys/store";
import type { Services } from "../pipeline/services";
import { type BrowserToken, TOKEN_PREFIX, verifyToken } from "../tokens/token";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";

/** The bearer token, or (for Anthropic clients) `x-api-key`. */
function presentedToken(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1] ?? null;
  }
  return headers.get("x-api-key");
}

/** What key authentication reads of a request: its headers, the bindings, the services and the config. */
interface AuthContext {
  headers: Headers;
  env: Env;
  services: Services;
  config: GatewayConfig;
}

/** A key record by SHA-256 of its secret, or by id (`id:<id>`, for browser tokens), through the cache. */
async function lookup(a: AuthContext, cacheKey: string, load: (s: KeyStore) => Promise<KeyRecord | null>) {
  let key = keyCache.get(cacheKey);
  if (!key) {
    const found = await load(a.services.keys);
    if (!found) return null;
    key = found;
    keyCache.set(cacheKey, key, a.config.keys.cacheTtlSeconds * 1000);
  }
  return key;
}

/** A browser token: its signature and expiry, its page's origin, and its parent key still allowing both. */
async function tokenAuth(a: AuthContext, token: string): Promise<{ key: KeyRecord; token: BrowserToken }> {
  const v = await verifyToken(token, a.env.TOKEN_SECRET ?? a.env.ADMIN_TOKEN);
  if (!v.ok) {
    throw v.reason === "expired"
      ? new GatewayError("key_expired", "This browser token has expired; get a new one from your server.")
      : new GatewayError("invalid_api_key", "Invalid browser token.");
  }
  const origin = a.headers.get("origin");
  if (!origin || !v.token.origins.includes(origin)) {
    throw new GatewayError(
      "origin_not_allowed",
      origin
        ? `This browser token may not be used from ${origin}.`
        : "A browser token is only accepted from a page of an origin it was minted for (Origin header).",
    );
  }
  const key = await lookup(a, `id:${v.token.keyId}`, (s) => s.byId(v.token.keyId));
  if (!key) throw new GatewayError("invalid_api_key", "Invalid browser token.");
  return { key, token: v.token };
}

/**
 * Authenticates a Sluice key or a browser token: the key (a token's parent key, the token itself beside it).
 * Lookups go through the in-isolate cache, so a warm request does no I/O; D1 is asked by SHA-256 of the
 * secret, never by the secret. A request with an `Origin` header (a browser) is refused unless the key allows
 * that origin.
 */
export async function authenticate(a: AuthContext): Promise<{ key: KeyRecord; token: BrowserToken | null }> {
  const presented = presentedToken(a.headers);
  if (!presented) {
    throw new GatewayError(
      "missing_api_key",
      "Missing API key. Send 'Authorization: Bearer <your Sluice key>'.",
    );
  }
  let key: KeyRecord | null;
  let token: BrowserToken | null = null;
  if (presented.startsWith(TOKEN_PREFIX)) {
    ({ key, token } = await tokenAuth(a, presented));
  } else {
    if (!looksLikeKey(presented)) throw new GatewayError("invalid_api_key", "Invalid API key.");
    const hash = await hashSecret(presented);
    key = await lookup(a, hash, (s) => s.byHash(hash));
    if (!key) throw new GatewayError("invalid_api_key", "Invalid API key.");
  }
  if (key.revokedAt) throw new GatewayError("invalid_api_key", "This API key has been revoked.");
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
    throw new GatewayError("key_expired", `This API key expired at ${key.expiresAt}.`);
  }
  const origin = a.headers.get("origin");
  if (origin && !key.browserOrigins?.includes(origin)) {
    throw new GatewayError(
      "origin_not_allowed",
      key.browserOrigins
        ? `This key may not be used from ${origin}.`
        : "This key is not enabled for browsers (a request with an Origin header). Mint a browser token with POST /v1/tokens, from a key created with browser.origins.",
    );
  }
  return { key, token };
}

/** Puts the authenticated key on `c.var.key` (and a browser token on `c.var.token`): authenticate. */
export const keyAuth = createMiddleware<AppEnv>(async (c, next) => {
  const { key, token } = await authenticate({
    headers: c.req.raw.headers,
    env: c.env,
    services: c.var.services,
    config: c.var.config,
  });
  c.set("key", key);
  c.set("token", token);
  await next();
});

/** Guards `/admin/*` with the `ADMIN_TOKEN` secret, compared in constant time. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = presentedToken(c.req.raw.headers);
  if (!token || !(await safeEqual(token, c.env.ADMIN_TOKEN))) {
    throw new GatewayError(
      "invalid_admin_token",
      "Admin endpoints need 'Authorization: Bearer <ADMIN_TOKEN>'.",
    );
  }
  await next();
});
