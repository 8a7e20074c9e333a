import { assertIndexedFilter, type VectorIndex, type VectorMetadata } from "./interface";

/**
 * The vector index port over a Vectorize (V2) binding, an index created with `--metric cosine` so scores are cosine
 * similarity. Queries ask for all metadata (`returnMetadata: "all"`: Sluice reads fields that have no metadata index,
 * which `"indexed"` would leave out) and so may ask for at most 20 matches. A filter may name only fields with a
 * metadata index (`INDEXED_FIELDS`): Vectorize would silently match nothing on another field, so it is refused here.
 */
export function vectorizeIndex(index: Vectorize): VectorIndex {
  return {
    dimensions: async () => (await index.describe()).dimensions,
    query: async (vector, q) => {
      assertIndexedFilter(q.filter);
      const hasFilter = Object.keys(q.filter).length > 0;
      const res = await index.query(vector, {
        topK: q.topK,
        namespace: q.namespace,
        returnValues: false,
        returnMetadata: "all",
        ...(hasFilter ? { filter: q.filter } : {}),
      });
      return res.matches.map((m) => ({
        id: m.id,
        score: m.score,
        metadata: (m.metadata ?? {}) as VectorMetadata,
      }));
    },
    upsert: async (vectors) => {
      if (vectors.length === 0) return;
      await index.upsert(
        vectors.map((v) => ({ id: v.id, values: v.values, namespace: v.namespace, metadata: v.metadata })),
      );
    },
    // Vectorize deletes by id across namespaces (ids are unique in the index).
    deleteByIds: async (_namespace, ids) => {
      if (ids.length > 0) await index.deleteByIds(ids);
    },
  };
}
