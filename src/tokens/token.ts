import type { LimitSettings } from "../keys/store";

/** What a browser token carries, signed: who minted it, for whom, where it may be used, and its own limits. */
export interface BrowserToken {
  v: 1;
  /** The token's id: its own limiter object is named by it. */
  id: string;
  /** The parent key's id: the token's calls count against that key (and its team) too. */
  keyId: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** Origins whose pages may use the token (exact `scheme://host[:port]`). */
  origins: string[];
  /** The end user the token was minted for; recorded as the call's end user. */
  user: string;
  /** Model patterns the token may use (on top of the parent key's); null = the parent's. */
  models: string[] | null;
  limits: LimitSettings;
}

export const TOKEN_PREFIX = "sbt_";

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/**
 * The HMAC key tokens are signed with, derived from `secret` (`TOKEN_SECRET`, else `ADMIN_TOKEN`) for this
 * purpose only. Rotating the secret invalidates every outstanding token (they live an hour at most).
 */
function signingKey(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = (async () => {
      const root = await crypto.subtle.importKey(
        "raw",
        enc.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const derived = await crypto.subtle.sign("HMAC", root, enc.encode("sluice-browser-token-v1"));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]);
    })();
    if (keys.size > 8) keys.clear();
    keys.set(secret, k);
  }
  return k;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array<ArrayBuffer> | null {
  try {
    const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** `sbt_<payload>.<signature>`, both base64url; the payload is JSON. */
export async function signToken(t: BrowserToken, secret: string): Promise<string> {
  const payload = b64url(enc.encode(JSON.stringify(t)));
  const sig = await crypto.subtle.sign("HMAC", await signingKey(secret), enc.encode(payload));
  return `${TOKEN_PREFIX}${payload}.${b64url(new Uint8Array(sig))}`;
}

/**
 * The token's claims when its signature verifies (in constant time, by WebCrypto) and it has not expired;
 * otherwise why not.
 */
export async function verifyToken(
  token: string,
  secret: string,
  now = Date.now(),
): Promise<{ ok: true; token: BrowserToken } | { ok: false; reason: "invalid" | "expired" }> {
  const body = token.slice(TOKEN_PREFIX.length);
  const dot = body.indexOf(".");
  const sig = dot > 0 ? fromB64url(body.slice(dot + 1)) : null;
  if (!token.startsWith(TOKEN_PREFIX) || !sig) return { ok: false, reason: "invalid" };
  const payload = body.slice(0, dot);
  const valid = await crypto.subtle.verify("HMAC", await signingKey(secret), sig, enc.encode(payload));
  const bytes = valid ? fromB64url(payload) : null;
  if (!bytes) return { ok: false, reason: "invalid" };
  let t: BrowserToken;
  try {
    t = JSON.parse(new TextDecoder().decode(bytes)) as BrowserToken;
  } catch {
    return { ok: false, reason: "invalid" };
  }
  if (t.v !== 1 || typeof t.exp !== "number") return { ok: false, reason: "invalid" };
  if (t.exp <= now) return { ok: false, reason: "expired" };
  return { ok: true, token: t };
}
