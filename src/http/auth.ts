import { createMiddleware } from "hono/factory";
import { keyCache } from "../keys/cache";
import { hashSecret, looksLikeKey, safeEqual } from "../keys/secret";
import { KeyStore } from "../keys/store";
import type { AppEnv } from "./context";
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

/**
 * Authenticates a Sluice key and puts its record on `c.var.key`. Lookups go through the in-isolate cache,
 * so a warm request does no I/O; D1 is asked by SHA-256 of the secret, never by the secret.
 */
export const keyAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = presentedToken(c.req.raw);
  if (!token) {
    throw new GatewayError(
      "missing_api_key",
      "Missing API key. Send 'Authorization: Bearer <your Sluice key>'.",
    );
  }
  if (!looksLikeKey(token)) throw new GatewayError("invalid_api_key", "Invalid API key.");
  const hash = await hashSecret(token);
  let key = keyCache.get(hash);
  if (!key) {
    const found = await new KeyStore(c.env.DB).byHash(hash);
    if (!found) throw new GatewayError("invalid_api_key", "Invalid API key.");
    key = found;
    keyCache.set(hash, key, c.var.config.keys.cacheTtlSeconds * 1000);
  }
  if (key.revokedAt) throw new GatewayError("invalid_api_key", "This API key has been revoked.");
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
    throw new GatewayError("key_expired", `This API key expired at ${key.expiresAt}.`);
  }
  c.set("key", key);
  await next();
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
