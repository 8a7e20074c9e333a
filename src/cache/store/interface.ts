/** What a listing shows of an entry without reading it (KV metadata, ≤ 1 KiB). */
export interface EntryMeta {
  /** Alias hash (cache/key.ts shortHash). */
  a: string;
  /** Created at, ms since the epoch. */
  c: number;
  /** Tag hashes. */
  t?: string[];
  /** For user-scoped entries: the hash of `user:<id>`, so a purge by user finds them. */
  u?: string;
}

export interface ListedEntry {
  name: string;
  metadata: EntryMeta | null;
}

/**
 * The response store port: cached answers by key, with a TTL (at least 60 s, as KV requires) and listable
 * metadata for purges and stats. Adapters: Workers KV (`kv.ts`) and an in-isolate twin (`memory.ts`) used when
 * no `CACHE` binding exists. Like KV, a key takes about one write per second.
 */
export interface ResponseStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, opts: { ttlSeconds: number; metadata: EntryMeta }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Up to 1,000 entries whose key starts with `prefix`, in key order, and the cursor of the next page. */
  list(prefix: string, cursor?: string | null): Promise<{ entries: ListedEntry[]; cursor: string | null }>;
}

/** KV's floor for `expirationTtl`. */
export const MIN_TTL_SECONDS = 60;
