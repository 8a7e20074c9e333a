/** OpenAI embeddings answers, built from plain vectors by any provider that is not OpenAI-wire. */

/** A vector as OpenAI's `encoding_format: "base64"` sends it: little-endian float32 bytes, base64. */
export function floatsToBase64(vec: ArrayLike<number>): string {
  let bin = "";
  for (const b of new Uint8Array(Float32Array.from(vec).buffer)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The OpenAI embeddings body (`object: "list"`) for vectors in input order. */
export function embeddingsBody(
  vectors: ArrayLike<number>[],
  model: string,
  promptTokens: number,
  encoding: unknown,
): Record<string, unknown> {
  return {
    object: "list",
    data: vectors.map((v, index) => ({
      object: "embedding",
      index,
      embedding: encoding === "base64" ? floatsToBase64(v) : Array.from(v),
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
