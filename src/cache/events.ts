import type { CacheEvent } from "./stage";

/** Shadow would-be hits and verification outcomes into D1 (`cache_events`), one row each; rare by design. */
export function d1CacheEvents(db: D1Database): (e: CacheEvent) => Promise<void> {
  return async (e) => {
    try {
      await db
        .prepare("INSERT INTO cache_events (ts, alias, kind, score) VALUES (?, ?, ?, ?)")
        .bind(e.at, e.alias, e.kind, e.score)
        .run();
    } catch (err) {
      console.error(JSON.stringify({ event: "sluice.cache.event_lost", kind: e.kind, error: String(err) }));
    }
  };
}

export interface CacheEventCounts {
  alias: string;
  shadowHits: number;
  verified: number;
  falseHits: number;
}

/** Counts per alias over [fromMs, toMs). */
export async function cacheEventCounts(
  db: D1Database,
  fromMs: number,
  toMs: number,
): Promise<CacheEventCounts[]> {
  const { results } = await db
    .prepare(
      `SELECT alias, SUM(kind = 'shadow') AS shadowHits, SUM(kind = 'verified') AS verified,
              SUM(kind = 'false_hit') AS falseHits
       FROM cache_events WHERE ts >= ? AND ts < ? GROUP BY alias ORDER BY alias`,
    )
    .bind(fromMs, toMs)
    .all<CacheEventCounts>();
  return results;
}
