import type { Context } from "hono";
import type { KeyStore } from "../keys/store";
import { answerError } from "./answer-error";
import type { AppEnv } from "./context";
import { GatewayError } from "./errors";

/** Response headers a page may read: the request id, the limits, what Sluice did. */
const EXPOSED = [
  "x-request-id",
  "x-sluice-request-id",
  "x-sluice-provider",
  "x-sluice-model",
  "x-sluice-cache",
  "x-sluice-retries",
  "x-sluice-cost-usd",
  "x-sluice-budget-remaining-usd",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
  "retry-after",
].join(", ");

let cached: { origins: Set<string>; until: number } | null = null;

/** Every origin some active browser-enabled key allows, cached per isolate like key lookups. */
async function allowedOrigins(keys: KeyStore, ttlMs: number): Promise<Set<string>> {
  const now = Date.now();
  if (cached && cached.until > now) return cached.origins;
  const origins = new Set(await keys.browserOrigins());
  cached = { origins, until: now + ttlMs };
  return origins;
}

/** Forgets the cached origin list (after a key's browser settings change in this isolate). */
export function forgetOrigins(): void {
  cached = null;
}

/**
 * CORS for `/v1/*`, around `inner` (key authentication and the route), for a request with an `Origin` header.
 * A preflight is answered (204, the exact origin echoed) only for an origin some active key allows, and
 * refused with 403 otherwise. Other answers carry `Access-Control-Allow-Origin` for such origins, errors
 * included (a refusal by `inner` is written here, `answerError`), so a page can read why it was refused;
 * whether this credential may be used from that origin is decided by key authentication
 * (`origin_not_allowed`). No cookies are involved: no credentials mode.
 */
export async function withCors(
  c: Context<AppEnv>,
  origin: string,
  inner: () => Promise<void>,
): Promise<Response | undefined> {
  const ttl = c.var.config.keys.cacheTtlSeconds * 1000;
  const allowed = (await allowedOrigins(c.var.services.keys, ttl)).has(origin);
  if (c.req.method === "OPTIONS") {
    if (!allowed) {
      throw new GatewayError("origin_not_allowed", `Origin ${origin} is not allowed to call this gateway.`);
    }
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers":
          c.req.header("access-control-request-headers") ?? "authorization, content-type",
        "access-control-max-age": "600",
        vary: "Origin, Access-Control-Request-Headers",
      },
    });
  }
  try {
    await inner();
  } catch (err) {
    c.res = answerError(err, c);
  }
  if (allowed) {
    c.res.headers.set("access-control-allow-origin", origin);
    c.res.headers.set("access-control-expose-headers", EXPOSED);
    c.res.headers.append("vary", "Origin");
  }
  return undefined;
}
