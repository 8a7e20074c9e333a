/**
 * HMAC-SHA256 signatures for what Sluice hands out and later trusts without a lookup: browser tokens and
 * dashboard sessions. Each purpose gets its own key, derived from a secret (`ADMIN_TOKEN` or `TOKEN_SECRET`),
 * so a signature for one purpose is never valid for another; rotating the secret invalidates them all.
 */
const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\u0000${secret}`;
  let k = keys.get(id);
  if (!k) {
    k = (async () => {
      const root = await crypto.subtle.importKey(
        "raw",
        enc.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const derived = await crypto.subtle.sign("HMAC", root, enc.encode(purpose));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]);
    })();
    if (keys.size > 16) keys.clear();
    keys.set(id, k);
  }
  return k;
}

export function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromB64url(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[\w-]*$/.test(s)) return null;
  try {
    const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** `<payload>.<signature>` (base64url signature of the payload text). */
export async function sign(payload: string, secret: string, purpose: string): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await keyFor(secret, purpose), enc.encode(payload));
  return `${payload}.${b64url(new Uint8Array(sig))}`;
}

/** The payload of `<payload>.<signature>` when the signature verifies (constant time, by WebCrypto); else null. */
export async function verified(signed: string, secret: string, purpose: string): Promise<string | null> {
  const dot = signed.lastIndexOf(".");
  const sig = dot > 0 ? fromB64url(signed.slice(dot + 1)) : null;
  if (!sig) return null;
  const payload = signed.slice(0, dot);
  const ok = await crypto.subtle.verify("HMAC", await keyFor(secret, purpose), sig, enc.encode(payload));
  return ok ? payload : null;
}
