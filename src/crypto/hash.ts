const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

/** `Uint8Array.prototype.toHex` (ES2026): workerd has it; Node 20 (scripts, the node tests) does not. */
const nativeHex = (Uint8Array.prototype as { toHex?: (this: Uint8Array) => string }).toHex;

/** Bytes as lowercase hex, two characters each (natively where the runtime can: one string, no joins). */
export function toHex(bytes: Uint8Array): string {
  if (nativeHex) return nativeHex.call(bytes);
  let hex = "";
  for (const b of bytes) hex += HEX[b];
  return hex;
}

/** SHA-256 of UTF-8 text, as 64 lowercase hex characters. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}
