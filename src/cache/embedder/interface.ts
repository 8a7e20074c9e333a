/**
 * The embedder port: text in, unit-length vectors out. Adapters: Workers AI (the `AI` binding), any embeddings
 * route configured in Sluice itself, and the deterministic offline embedder (`local.ts`) for dev and tests.
 */
export interface Embedder {
  /** Names the embedder and its model (`local:v1`, `workers-ai:@cf/baai/bge-m3`): entries from another never match. */
  readonly id: string;
  /** Vector length; checked against the vector index on first use. */
  readonly dimensions: number;
  /** One vector per text, in order, each of `dimensions` numbers with length 1 (cosine = dot product). */
  embed(texts: string[]): Promise<number[][]>;
}
