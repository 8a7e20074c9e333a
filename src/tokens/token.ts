import { b64url, fromB64url, sign, verified } from "../crypto/signing";
import type { LimitSettings } from "../limits/settings";

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

const PURPOSE = "sluice-browser-token-v1";

/** `sbt_<payload>.<signature>`: base64url JSON claims, HMAC-signed with a key derived for browser tokens. */
export async function signToken(t: BrowserToken, secret: string): Promise<string> {
  return TOKEN_PREFIX + (await sign(b64url(new TextEncoder().encode(JSON.stringify(t))), secret, PURPOSE));
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
  const payload = token.startsWith(TOKEN_PREFIX)
    ? await verified(token.slice(TOKEN_PREFIX.length), secret, PURPOSE)
    : null;
  const bytes = payload === null ? null : fromB64url(payload);
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
