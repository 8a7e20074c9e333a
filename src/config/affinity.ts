/**
 * FNV-1a, 32 bits, with MurmurHash3's finalizer so that texts differing only at their end spread evenly: a
 * fast, stable hash (no security role: it only spreads prompt prefixes over targets).
 */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * What a conversation's provider-side prompt cache is keyed by: the client's own `prompt_cache_key`, else the
 * stable prefix every turn repeats — the leading system messages and the tools. Null when there is none.
 */
export function cacheAffinity(body: Readonly<Record<string, unknown>>): string | null {
  if (typeof body.prompt_cache_key === "string" && body.prompt_cache_key)
    return `key:${body.prompt_cache_key}`;
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown }[]) : [];
  const system: unknown[] = [];
  for (const m of messages) {
    if (m.role !== "system" && m.role !== "developer") break;
    system.push(m);
  }
  if (system.length === 0 && !Array.isArray(body.tools)) return null;
  return `prefix:${JSON.stringify([system, body.tools ?? null])}`;
}

/**
 * Weighted rendezvous hashing: items in an order fixed by `affinity`, each first for a share of affinities
 * proportional to its weight. The same prompt prefix keeps reaching the target holding its cache, and when that
 * target fails the next in this order takes it. `name` must be stable per item (a target's `provider/model`).
 *
 * @example rendezvousOrder(group.children, (c) => ("id" in c ? c.id : `group:${c.path}`), "prefix:…")
 */
export function rendezvousOrder<T extends { weight: number }>(
  items: readonly T[],
  name: (item: T) => string,
  affinity: string,
): T[] {
  const seed = hash32(affinity);
  const scored = items.map((t) => {
    const u = (hash32(`${seed}:${name(t)}`) + 0.5) / 2 ** 32;
    return { t, score: -t.weight / Math.log(u) };
  });
  return scored.sort((a, b) => b.score - a.score).map((s) => s.t);
}
