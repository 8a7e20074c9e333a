import { sha256Hex } from "../crypto/hash";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const KEY_PREFIX = "sk-sluice-";
const SECRET_LENGTH = 40;

/** Random base62 text from the platform CSPRNG (rejection sampling keeps it unbiased). */
export function randomToken(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** A new Sluice key secret: `sk-sluice-` and 40 base62 characters (~238 bits). */
export function newSecret(): string {
  return KEY_PREFIX + randomToken(SECRET_LENGTH);
}

/** Whether text has the shape of a Sluice key; anything else is refused without a lookup. */
export function looksLikeKey(text: string): boolean {
  return text.length === KEY_PREFIX.length + SECRET_LENGTH && text.startsWith(KEY_PREFIX);
}

/** SHA-256 of the secret, hex: what D1 stores and lookups use. */
export const hashSecret = (secret: string): Promise<string> => sha256Hex(secret);

/** Constant-time equality of two strings (compared as SHA-256 digests, so lengths leak nothing either). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}
