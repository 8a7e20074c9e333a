import type { Route } from "../../config/resolve";
import { callUpstream } from "../../pipeline/upstream";
import type { Embedder } from "./interface";

/** Vector lengths of Workers AI's embedding models (a model not listed needs `dimensions` in the config). */
export const WORKERS_AI_DIMENSIONS: Record<string, number> = {
  "@cf/baai/bge-small-en-v1.5": 384,
  "@cf/baai/bge-base-en-v1.5": 768,
  "@cf/baai/bge-large-en-v1.5": 1024,
  "@cf/baai/bge-m3": 1024,
  "@cf/google/embeddinggemma-300m": 768,
  "@cf/qwen/qwen3-embedding-0.6b": 1024,
};

/**
 * An embedder over one of the gateway's own routes to an embeddings model (OpenAI, a local Ollama, Workers
 * AI through its binding): the same adapters, retries and fallbacks as any call. Vectors are scaled to length 1.
 * Embedding calls are the cache's own cost and leave no spend row.
 */
export function routeEmbedder(
  id: string,
  route: Route,
  dimensions: number,
  env: Record<string, unknown>,
): Embedder {
  return {
    id,
    dimensions,
    async embed(texts) {
      const up = await callUpstream(
        route,
        { op: "embeddings", body: { model: route.requested, input: texts }, stream: false, env },
        AbortSignal.timeout(route.timeoutMs),
      );
      const data = (up.read?.json.data ?? []) as { index?: number; embedding?: unknown }[];
      const vectors = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding);
      if (vectors.length !== texts.length || !vectors.every(Array.isArray)) {
        throw new Error(
          `the embeddings model '${route.requested}' answered without one float vector per input`,
        );
      }
      return (vectors as number[][]).map((v) => {
        if (v.length !== dimensions) {
          throw new Error(
            `cache.embedder: '${route.requested}' makes ${v.length}-dimensional vectors, not ${dimensions} (set cache.embedder.dimensions)`,
          );
        }
        const norm = Math.hypot(...v) || 1;
        return v.map((x) => x / norm);
      });
    },
  };
}
