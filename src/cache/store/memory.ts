import { type EntryMeta, type ListedEntry, MIN_TTL_SECONDS, type ResponseStore } from "./interface";

const PAGE = 1000;

/**
 * An in-isolate response store that behaves like KV where it matters: TTLs under 60 s are refused, entries
 * expire, listings come in key order in pages of 1,000. Nothing survives the isolate: it stands in when no
 * `CACHE` binding exists, and in tests. `now` is the clock (tests move it).
 */
export function memoryStore(now: () => number = Date.now): ResponseStore {
  const entries = new Map<string, { value: string; metadata: EntryMeta; until: number }>();
  const live = (key: string) => {
    const e = entries.get(key);
    if (e && e.until <= now()) entries.delete(key);
    return entries.get(key);
  };
  return {
    get: async (key) => live(key)?.value ?? null,
    async put(key, value, { ttlSeconds, metadata }) {
      if (!(ttlSeconds >= MIN_TTL_SECONDS)) {
        throw new Error(`Invalid expiration_ttl of ${ttlSeconds}. Expiration TTL must be at least 60.`);
      }
      entries.set(key, { value, metadata, until: now() + ttlSeconds * 1000 });
    },
    delete: async (key) => {
      entries.delete(key);
    },
    async list(prefix, cursor) {
      const names = [...entries.keys()].filter((k) => k.startsWith(prefix) && live(k)).sort();
      const start = cursor ? names.findIndex((n) => n > cursor) : 0;
      const page = start < 0 ? [] : names.slice(start, start + PAGE);
      const out: ListedEntry[] = page.map((name) => ({
        name,
        metadata: entries.get(name)?.metadata ?? null,
      }));
      const last = page[page.length - 1];
      return { entries: out, cursor: last && start + PAGE < names.length ? last : null };
    },
  };
}
