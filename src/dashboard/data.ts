import { type AliasOutcomes, cacheOutcomes } from "../cache/admin";
import type { KeyStore } from "../keys/store";
import {
  querySpend,
  type RecentCall,
  recentCalls,
  type SpendGroup,
  type SpendQuery,
  type SpendSums,
  sumGroups,
} from "../spend/query";

export const PERIODS = {
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  mtd: "Month to date",
} as const;
export type Period = keyof typeof PERIODS;

const HOUR_MS = 3_600_000;
/** Calls listed under "Recent requests". */
export const RECENT = 30;
const DAY_MS = 86_400_000;
const FILTERS = ["key", "team", "model", "provider"] as const;
export type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** What the page shows: a period, its range and chart buckets, and the filters. */
export interface View {
  period: Period;
  fromMs: number;
  toMs: number;
  bucket: "hour" | "day";
  filters: Filters;
}

/** The view a query string asks for; an error message for a bad one. */
export function parseView(query: Record<string, string>, now = Date.now()): View | { error: string } {
  const period = (query.period || "30d") as Period;
  if (!Object.hasOwn(PERIODS, period)) {
    return { error: `Unknown period '${query.period}'. Use one of: ${Object.keys(PERIODS).join(", ")}.` };
  }
  const filters: Filters = {};
  for (const f of FILTERS) {
    const v = query[f]?.trim();
    if (!v) continue;
    if (v.length > 200) return { error: `The ${f} filter is too long.` };
    filters[f] = v;
  }
  const toMs = now;
  const d = new Date(now);
  const fromMs =
    period === "24h"
      ? now - 24 * HOUR_MS
      : period === "7d"
        ? now - 7 * DAY_MS
        : period === "30d"
          ? now - 30 * DAY_MS
          : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { period, fromMs, toMs, bucket: period === "24h" ? "hour" : "day", filters };
}

export interface KeyName {
  id: string;
  name: string;
  prefix: string;
}

export interface Dashboard {
  total: SpendSums;
  /** One point per hour or day of the period, oldest first, zeros included. */
  series: { label: string; sums: SpendSums | null }[];
  byModel: SpendGroup[];
  byKey: SpendGroup[];
  byTeam: SpendGroup[];
  recent: RecentCall[];
  keys: KeyName[];
  /** The response cache per alias: hits, misses, savings, verified false hits. */
  cache: AliasOutcomes[];
}

/** The labels of every bucket in the range (`2026-11-22` or `2026-11-22T13:00Z`), as the queries write them. */
function buckets(v: View): string[] {
  const out: string[] = [];
  const step = v.bucket === "hour" ? HOUR_MS : DAY_MS;
  const start = Math.floor(v.fromMs / step) * step;
  for (let t = start; t < v.toMs && out.length < 800; t += step) {
    const iso = new Date(t).toISOString();
    out.push(v.bucket === "hour" ? `${iso.slice(0, 13)}:00Z` : iso.slice(0, 10));
  }
  return out;
}

/**
 * Everything the dashboard shows, in parallel queries: totals, the series, breakdowns by model, key and team
 * (whole days from the daily rollups, so a month costs a few hundred rows whatever the traffic), the newest
 * calls (by the `ts` index), and key names.
 */
export async function loadDashboard(db: D1Database, keyStore: KeyStore, v: View): Promise<Dashboard> {
  const q = (groupBy: SpendQuery["groupBy"]): SpendQuery => ({
    fromMs: v.fromMs,
    toMs: v.toMs,
    groupBy,
    filters: v.filters,
  });
  const [series, byModel, byKey, byTeam, recent, keys, cache] = await Promise.all([
    querySpend(db, q(v.bucket)),
    querySpend(db, q("model")),
    querySpend(db, q("key")),
    querySpend(db, q("team")),
    recentCalls(db, q(null), RECENT),
    keyStore.names(),
    cacheOutcomes(db, v.fromMs, v.toMs),
  ]);
  const byBucket = new Map(series.map((g) => [g.group, g]));
  return {
    total: sumGroups(byModel),
    series: buckets(v).map((label) => ({ label, sums: byBucket.get(label) ?? null })),
    byModel,
    byKey,
    byTeam,
    recent,
    keys,
    cache,
  };
}
