import { describe, expect, it } from "vitest";
import { sha256Hex, toHex } from "../../src/crypto/hash";

describe("hex and SHA-256 (key hashes, request ids)", () => {
  it("writes bytes as two lowercase hex digits each, leading zeros kept", () => {
    expect(toHex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe("00010f10abff");
    expect(toHex(new Uint8Array(0))).toBe("");
  });

  it("hashes UTF-8 text as the standard's test vectors say", async () => {
    // FIPS 180-2's "abc", and a non-ASCII string (its UTF-8 bytes hashed, not its UTF-16 code units).
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });
});
