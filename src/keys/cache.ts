import type { KeyRecord } from "./store";

const MAX_ENTRIES = 10_000;

/**
 * In-isolate cache of key lookups by secret hash, so a warm request touches no D1.
 * An entry lives `ttlMs`: that is the bound on how late a revocation made in another isolate takes effect
 * (a revocation in this isolate evicts at once). Unknown keys are not cached.
 */
export class KeyCache {
  private readonly entries = new Map<string, { record: KeyRecord; until: number }>();

  get(hash: string, now = Date.now()): KeyRecord | undefined {
    const e = this.entries.get(hash);
    if (!e) return undefined;
    if (e.until <= now) {
      this.entries.delete(hash);
      return undefined;
    }
    return e.record;
  }

  set(hash: string, record: KeyRecord, ttlMs: number, now = Date.now()): void {
    if (ttlMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { record, until: now + ttlMs });
  }

  /** Drops every entry (after a team's limits change in this isolate). */
  clear(): void {
    this.entries.clear();
  }

  /** Drops every entry for a key id (after revoke or update in this isolate). */
  evict(id: string): void {
    for (const [hash, e] of this.entries) if (e.record.id === id) this.entries.delete(hash);
  }
}

/** The one cache per isolate. */
export const keyCache = new KeyCache();
