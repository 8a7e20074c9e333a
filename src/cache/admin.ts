import type { GatewayConfig } from "../config/schema";
import { sha256Hex } from "../crypto/hash";
import { formatUsd } from "../spend/money";
import { cacheEventCounts } from "./events";
import { scopeHash, shortHash } from "./key";
import type { SemanticTier } from "./semantic/tier";
import type { ResponseStore } from "./store/interface";

/** Pages of 1,000 entries one purge or stats call reads at most; a purge past it says `complete: false`. */
const MAX_PAGES = 20;

export interface PurgeFilter {
  /** A key id, `team:<name>`, `user:<id>` or `global`. */
  scope?: string | undefined;
  /** An alias. */
  model?: string | undefined;
  tag?: string | undefined;
}

/** The listing prefix and per-entry test of a purge: a scope narrows the prefix, user/alias/tag filter metadata. */
async function matcher(f: PurgeFilter) {
  const alias = f.model ? await shortHash("alias", f.model) : null;
  const tag = f.tag ? await shortHash("tag", f.tag) : null;
  let prefix = "rc:";
  let user: string | null = null;
  if (f.scope?.startsWith("user:")) user = await shortHash("user", f.scope.slice(5));
  else if (f.scope) {
    const name = f.scope === "global" || f.scope.startsWith("team:") ? f.scope : `key:${f.scope}`;
    prefix = `rc:${await scopeHash(name)}:${alias ? `${alias}:` : ""}`;
  }
  return {
    prefix,
    test: (name: string, meta: { a?: string; t?: string[]; u?: string } | null) =>
      (!alias || name.split(":")[2] === alias) &&
      (!tag || !!meta?.t?.includes(tag)) &&
      (!user || meta?.u === user),
  };
}

/** Deletes the entries a filter names (and their vectors); returns how many went and whether that was all. */
export async function purge(
  store: ResponseStore,
  semantic: SemanticTier | null,
  f: PurgeFilter,
): Promise<{ deleted: number; complete: boolean }> {
  const m = await matcher(f);
  let deleted = 0;
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const listed = await store.list(m.prefix, cursor);
    const doomed = listed.entries.filter((e) => m.test(e.name, e.metadata)).map((e) => e.name);
    await Promise.all(doomed.map((name) => store.delete(name)));
    if (semantic) {
      const byScope = new Map<string, string[]>();
      for (const name of doomed) {
        const [, scope = "", , hash = ""] = name.split(":");
        byScope.set(scope, [...(byScope.get(scope) ?? []), await sha256Hex(`${scope}:${hash}`)]);
      }
      for (const [scope, ids] of byScope) await semantic.remove(scope, ids);
    }
    deleted += doomed.length;
    cursor = listed.cursor;
    if (!cursor) return { deleted, complete: true };
  }
  return { deleted, complete: false };
}

/** One alias's cache outcomes over a period, from the ledger and the checks table. */
export interface AliasOutcomes {
  alias: string;
  hits: number;
  semanticHits: number;
  misses: number;
  savedPicoUsd: bigint;
  shadowHits: number;
  verified: number;
  falseHits: number;
  /** Of the verified semantic hits, the share that failed; null before any was verified. */
  falseHitRate: number | null;
}

/** Cache outcomes per alias (the spend rows' `cache` column and cache_events) over [fromMs, toMs). */
export async function cacheOutcomes(db: D1Database, fromMs: number, toMs: number): Promise<AliasOutcomes[]> {
  const [{ results }, checks] = await Promise.all([
    db
      .prepare(
        `SELECT model, cache, COUNT(*) AS n, CAST(SUM(saved_pusd) AS TEXT) AS saved FROM spend
         WHERE ts >= ? AND ts < ? AND cache IN ('HIT', 'SEMANTIC', 'MISS') GROUP BY model, cache`,
      )
      .bind(fromMs, toMs)
      .all<{ model: string; cache: string; n: number; saved: string | null }>(),
    cacheEventCounts(db, fromMs, toMs),
  ]);
  const aliases = new Set([...results.map((r) => r.model), ...checks.map((c) => c.alias)]);
  return [...aliases].sort().map((alias) => {
    const rows = results.filter((r) => r.model === alias);
    const count = (kind: string) => rows.find((r) => r.cache === kind)?.n ?? 0;
    const c = checks.find((x) => x.alias === alias);
    const checked = (c?.verified ?? 0) + (c?.falseHits ?? 0);
    return {
      alias,
      hits: count("HIT"),
      semanticHits: count("SEMANTIC"),
      misses: count("MISS"),
      savedPicoUsd: rows.reduce((sum, r) => sum + BigInt(r.saved ?? "0"), 0n),
      shadowHits: c?.shadowHits ?? 0,
      verified: c?.verified ?? 0,
      falseHits: c?.falseHits ?? 0,
      falseHitRate: checked > 0 ? (c?.falseHits ?? 0) / checked : null,
    };
  });
}

/** Per caching alias since `since` (ms): entries now (a KV listing), and its outcomes. */
export async function cacheStats(store: ResponseStore, db: D1Database, config: GatewayConfig, since: number) {
  const aliases = Object.entries(config.models).filter(([, m]) => m.cache && m.cache.mode !== "off");
  const byHash = new Map<string, string>();
  for (const [name] of aliases) byHash.set(await shortHash("alias", name), name);
  const entries = new Map<string, number>();
  let cursor: string | null = null;
  let complete = false;
  for (let page = 0; page < MAX_PAGES && !complete; page++) {
    const listed = await store.list("rc:", cursor);
    for (const e of listed.entries) {
      const name = byHash.get(e.name.split(":")[2] ?? "");
      if (name) entries.set(name, (entries.get(name) ?? 0) + 1);
    }
    cursor = listed.cursor;
    complete = cursor === null;
  }
  const outcomes = await cacheOutcomes(db, since, Date.now() + 1);
  return {
    entriesComplete: complete,
    aliases: aliases.map(([alias, m]) => {
      const o = outcomes.find((x) => x.alias === alias);
      return {
        alias,
        mode: m.cache?.mode ?? "off",
        entries: entries.get(alias) ?? 0,
        hits: o?.hits ?? 0,
        semanticHits: o?.semanticHits ?? 0,
        misses: o?.misses ?? 0,
        savedUsd: formatUsd(o?.savedPicoUsd ?? 0n),
        shadowHits: o?.shadowHits ?? 0,
        verified: o?.verified ?? 0,
        falseHits: o?.falseHits ?? 0,
        falseHitRate: o?.falseHitRate ?? null,
      };
    }),
  };
}
