import type { ResponseStore } from "./interface";

/**
 * A response store with the isolate's recent reads and writes in front (the L1): a warm hit costs no KV read.
 * An entry is kept `ttlMs` (default 30 s) at most, so a purge or eviction made in another isolate reaches this
 * one within that bound — as KV's own edge caching of reads already allows (up to 60 s). Deletes made here
 * take effect here at once. The stage still checks each entry's own expiry.
 */
export function nearStore(
  inner: ResponseStore,
  opts: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
): ResponseStore {
  const ttlMs = opts.ttlMs ?? 30_000;
  const max = opts.maxEntries ?? 1000;
  const now = opts.now ?? Date.now;
  const near = new Map<string, { value: string; until: number }>();
  const keep = (key: string, value: string) => {
    near.delete(key);
    if (near.size >= max) near.delete(near.keys().next().value as string);
    near.set(key, { value, until: now() + ttlMs });
  };
  return {
    async get(key) {
      const e = near.get(key);
      if (e && e.until > now()) return e.value;
      near.delete(key);
      const value = await inner.get(key);
      if (value !== null) keep(key, value);
      return value;
    },
    async put(key, value, opts) {
      await inner.put(key, value, opts);
      keep(key, value);
    },
    async delete(key) {
      near.delete(key);
      await inner.delete(key);
    },
    list: (prefix, cursor) => inner.list(prefix, cursor),
  };
}
