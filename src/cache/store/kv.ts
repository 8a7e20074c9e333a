import type { EntryMeta, ResponseStore } from "./interface";

/** The response store in Workers KV (the `CACHE` namespace). */
export function kvStore(kv: KVNamespace): ResponseStore {
  return {
    get: (key) => kv.get(key, "text"),
    put: (key, value, { ttlSeconds, metadata }) =>
      kv.put(key, value, { expirationTtl: ttlSeconds, metadata }),
    delete: (key) => kv.delete(key),
    async list(prefix, cursor) {
      const page = await kv.list<EntryMeta>({ prefix, limit: 1000, ...(cursor ? { cursor } : {}) });
      return {
        entries: page.keys.map((k) => ({ name: k.name, metadata: k.metadata ?? null })),
        cursor: page.list_complete ? null : page.cursor,
      };
    },
  };
}
