/** Metadata values Sluice stores on a vector and filters by (exact matches only). */
export type VectorMetadata = Record<string, string | number | boolean>;

export interface VectorRecord {
  id: string;
  values: number[];
  /** A hard partition: a query sees only its own namespace (Vectorize namespaces, ≤ 64 bytes). */
  namespace: string;
  metadata: VectorMetadata;
}

export interface VectorMatch {
  id: string;
  /** Cosine similarity, −1…1. */
  score: number;
  metadata: VectorMetadata;
}

export interface VectorQuery {
  namespace: string;
  /** 1…20 (Vectorize's limit when metadata is returned). */
  topK: number;
  /** Every field must equal (Vectorize's implicit `$eq`); only indexed fields (`INDEXED_FIELDS`) may be used. */
  filter: VectorMetadata;
}

/**
 * The vector index port, the subset of Vectorize Sluice uses. Like Vectorize, a write becomes visible to
 * queries only after a while (seconds to minutes), so callers never count on reading their own write at once.
 * Adapters: Vectorize (`vectorize.ts`) and the offline Durable Object index (`durable-object.ts`).
 */
export interface VectorIndex {
  /** The index's vector length. */
  dimensions(): Promise<number>;
  /** The best `topK` matches in the namespace that pass the filter, best first. */
  query(vector: number[], q: VectorQuery): Promise<VectorMatch[]>;
  /** Inserts or replaces vectors by id (visible to queries later). */
  upsert(vectors: VectorRecord[]): Promise<void>;
  /**
   * Deletes the namespace's vectors by id (visible to queries later, like a write). Vectorize itself deletes by
   * id in any namespace; the namespace is asked for so an adapter may shard by namespace (durable-object.ts).
   */
  deleteByIds(namespace: string, ids: string[]): Promise<void>;
}

/** Metadata fields the semantic tier filters on: each needs `wrangler vectorize create-metadata-index`. */
export const INDEXED_FIELDS = ["fp"] as const;

/**
 * Throws unless every filter field is in `INDEXED_FIELDS` and every value is a string, number or boolean. Vectorize
 * filters only on fields with a metadata index (others match nothing), so both adapters refuse such a filter.
 */
export function assertIndexedFilter(filter: VectorMetadata): void {
  for (const [field, value] of Object.entries(filter)) {
    if (!(INDEXED_FIELDS as readonly string[]).includes(field)) {
      throw new Error(
        `vector filter on "${field}": the field needs a metadata index (add it to INDEXED_FIELDS in src/cache/vectors/interface.ts and run \`wrangler vectorize create-metadata-index <index> --property-name ${field} --type string\`)`,
      );
    }
    const t = typeof value;
    if (t !== "string" && t !== "number" && t !== "boolean") {
      throw new Error(`vector filter on "${field}": the value must be a string, number or boolean`);
    }
  }
}
