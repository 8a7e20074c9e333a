import { formatUsd } from "./money";

export const GROUP_BY = [
  "key",
  "team",
  "model",
  "provider",
  "upstream_model",
  "day",
  "hour",
  "cache",
] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** A spend question: a time range [from, to) in ms, an optional grouping and equality filters. */
export interface SpendQuery {
  fromMs: number;
  toMs: number;
  groupBy: GroupBy | null;
  filters: { key?: string; team?: string; model?: string; provider?: string; client_request_id?: string };
}

/** Totals of a set of calls; costs exact (bigint pico-USD). */
export interface SpendSums {
  requests: number;
  errors: number;
  unpriced: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costPicoUsd: bigint;
  savedPicoUsd: bigint;
}

export interface SpendGroup extends SpendSums {
  /** The group's value (model name, key id, team, provider, day); null for "none" (no team, no provider). */
  group: string | null;
}

const DAY_MS = 86_400_000;
const TOKENS = [
  ["input_tokens", "inputTokens"],
  ["cached_input_tokens", "cachedInputTokens"],
  ["cache_write_tokens", "cacheWriteTokens"],
  ["output_tokens", "outputTokens"],
  ["reasoning_tokens", "reasoningTokens"],
] as const;
const FILTER_COLUMNS = {
  key: "key_id",
  team: "team",
  model: "model",
  provider: "provider",
  client_request_id: "client_request_id",
} as const;

/** The grouping expression over either table (NULLs as '' so raw rows and rollups group together). */
function groupExpr(g: GroupBy | null, raw: boolean): string {
  switch (g) {
    case null:
      return "''";
    case "day":
      return raw ? "date(ts / 1000, 'unixepoch')" : "day";
    case "hour": // raw rows only (rollups are daily)
      return "strftime('%Y-%m-%dT%H:00Z', ts / 1000, 'unixepoch')";
    case "key":
      return "key_id";
    default:
      return raw ? `COALESCE(${g}, '')` : g;
  }
}

/** Cost sums split at 10⁶ so each part stays an exact integer, summed again and read back as text. */
const split = (col: string, prefix: string) =>
  `SUM(${col} / 1000000) AS ${prefix}_hi, SUM(${col} % 1000000) AS ${prefix}_lo`;

/** A range condition and its parameters, with the query's equality filters added. */
function filtered(q: SpendQuery, range: string, params: unknown[]): { where: string[]; params: unknown[] } {
  const where = [range];
  for (const [f, col] of Object.entries(FILTER_COLUMNS)) {
    const v = q.filters[f as keyof typeof FILTER_COLUMNS];
    if (v !== undefined) {
      where.push(`${col} = ?`);
      params.push(v);
    }
  }
  return { where, params };
}

/** One part of the range, read from raw rows (partial days) or daily rollups (whole days). */
function part(q: SpendQuery, raw: boolean, lo: number | string, hi: number | string) {
  const { where, params } = filtered(q, raw ? "ts >= ? AND ts < ?" : "day >= ? AND day < ?", [lo, hi]);
  const sums = raw
    ? `COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(cost_pusd IS NULL) AS unpriced, ${TOKENS.map(([c]) => `SUM(${c}) AS ${c}`).join(", ")}, ${split("COALESCE(cost_pusd, 0)", "cost")}, ${split("saved_pusd", "saved")}`
    : `SUM(requests) AS requests, SUM(errors) AS errors, SUM(unpriced) AS unpriced, ${TOKENS.map(([c]) => `SUM(${c}) AS ${c}`).join(", ")}, ${split("cost_pusd", "cost")}, ${split("saved_pusd", "saved")}`;
  const sql = `SELECT ${groupExpr(q.groupBy, raw)} AS g, ${sums} FROM ${raw ? "spend" : "spend_daily"} WHERE ${where.join(" AND ")} GROUP BY g`;
  return { sql, params };
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The SQL for a spend query: whole UTC days inside the range come from the daily rollups, the partial days at
 * either end from raw rows (by the `ts` index), so a month costs a few hundred rollup rows, not every call.
 */
export function spendSql(q: SpendQuery): { sql: string; params: unknown[] } {
  const firstWhole = Math.ceil(q.fromMs / DAY_MS) * DAY_MS;
  const lastWhole = Math.floor(q.toMs / DAY_MS) * DAY_MS;
  // Rollups hold neither hours, cache outcomes nor client request ids: such questions read raw rows only.
  const rawOnly = q.groupBy === "hour" || q.groupBy === "cache" || q.filters.client_request_id !== undefined;
  const parts =
    firstWhole < lastWhole && !rawOnly
      ? [
          ...(q.fromMs < firstWhole ? [part(q, true, q.fromMs, firstWhole)] : []),
          part(q, false, isoDay(firstWhole), isoDay(lastWhole)),
          ...(lastWhole < q.toMs ? [part(q, true, lastWhole, q.toMs)] : []),
        ]
      : [part(q, true, q.fromMs, q.toMs)];
  const sql = `SELECT g, SUM(requests) AS requests, SUM(errors) AS errors, SUM(unpriced) AS unpriced, ${TOKENS.map(([c]) => `SUM(${c}) AS ${c}`).join(", ")}, ${["cost_hi", "cost_lo", "saved_hi", "saved_lo"].map((c) => `CAST(SUM(${c}) AS TEXT) AS ${c}`).join(", ")} FROM (${parts.map((p) => p.sql).join(" UNION ALL ")}) GROUP BY g`;
  return { sql, params: parts.flatMap((p) => p.params) };
}

type Row = Record<string, string | number | null>;

const big = (v: unknown) => BigInt(typeof v === "string" || typeof v === "number" ? v : 0);
const num = (v: unknown) => (typeof v === "number" ? v : 0);

function toGroup(r: Row): SpendGroup {
  const group: SpendGroup = {
    group: r.g === "" || r.g === null || r.g === undefined ? null : String(r.g),
    requests: num(r.requests),
    errors: num(r.errors),
    unpriced: num(r.unpriced),
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    costPicoUsd: big(r.cost_hi) * 1_000_000n + big(r.cost_lo),
    savedPicoUsd: big(r.saved_hi) * 1_000_000n + big(r.saved_lo),
  };
  for (const [c, f] of TOKENS) group[f] = num(r[c]);
  return group;
}

/** Adds groups up exactly (integers, bigint costs). */
export function sumGroups(groups: SpendSums[]): SpendSums {
  const t: SpendSums = {
    requests: 0,
    errors: 0,
    unpriced: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    costPicoUsd: 0n,
    savedPicoUsd: 0n,
  };
  for (const g of groups) {
    t.requests += g.requests;
    t.errors += g.errors;
    t.unpriced += g.unpriced;
    for (const [, f] of TOKENS) t[f] += g[f];
    t.costPicoUsd += g.costPicoUsd;
    t.savedPicoUsd += g.savedPicoUsd;
  }
  return t;
}

/** Runs a spend query on D1: groups ordered by day, or by cost (highest first) then name. */
export async function querySpend(db: D1Database, q: SpendQuery): Promise<SpendGroup[]> {
  const { sql, params } = spendSql(q);
  const { results } = await db
    .prepare(sql)
    .bind(...params)
    .all<Row>();
  const groups = results.map(toGroup);
  return groups.sort((a, b) =>
    q.groupBy === "day" || a.costPicoUsd === b.costPicoUsd
      ? String(a.group).localeCompare(String(b.group))
      : a.costPicoUsd > b.costPicoUsd
        ? -1
        : 1,
  );
}

/** Sums as JSON: costs as decimal USD numbers and as exact pico-USD strings. */
export function sumsJson(s: SpendSums) {
  return {
    requests: s.requests,
    errors: s.errors,
    unpriced: s.unpriced,
    costUsd: Number(formatUsd(s.costPicoUsd)),
    savedUsd: Number(formatUsd(s.savedPicoUsd)),
    inputTokens: s.inputTokens,
    cachedInputTokens: s.cachedInputTokens,
    cacheWriteTokens: s.cacheWriteTokens,
    outputTokens: s.outputTokens,
    reasoningTokens: s.reasoningTokens,
    costPicoUsd: s.costPicoUsd.toString(),
    savedPicoUsd: s.savedPicoUsd.toString(),
  };
}

const CSV_COLUMNS = [
  "group",
  "requests",
  "errors",
  "unpriced",
  "costUsd",
  "savedUsd",
  "inputTokens",
  "cachedInputTokens",
  "cacheWriteTokens",
  "outputTokens",
  "reasoningTokens",
] as const;

/** A CSV field: quoted when needed; a leading formula character is neutralised for spreadsheets. */
function csvField(v: string): string {
  const safe = /^[=+@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Groups as CSV, one line per group (exact decimal USD), after a header line. */
export function groupsCsv(groups: SpendGroup[]): string {
  const lines = groups.map((g) =>
    CSV_COLUMNS.map((c) =>
      csvField(
        c === "group"
          ? (g.group ?? "")
          : c === "costUsd"
            ? formatUsd(g.costPicoUsd)
            : c === "savedUsd"
              ? formatUsd(g.savedPicoUsd)
              : String(g[c]),
      ),
    ).join(","),
  );
  return `${[CSV_COLUMNS.join(","), ...lines].join("\r\n")}\r\n`;
}

/** One call as the dashboard (and a spend query by client request id) lists it. */
export interface RecentCall {
  ts: number;
  requestId: string;
  clientRequestId: string | null;
  keyId: string;
  team: string | null;
  model: string;
  provider: string | null;
  status: number;
  errorCode: string | null;
  stream: boolean;
  completed: boolean;
  inputTokens: number;
  outputTokens: number;
  /** Null: unpriced. */
  costPicoUsd: number | null;
  cache: string;
  latencyMs: number;
}

/** The newest calls in the query's range and filters (raw rows, newest first, by the `ts` index). */
export async function recentCalls(db: D1Database, q: SpendQuery, limit: number): Promise<RecentCall[]> {
  const { where, params } = filtered(q, "ts >= ? AND ts < ?", [q.fromMs, q.toMs]);
  const { results } = await db
    .prepare(
      `SELECT ts, request_id, client_request_id, key_id, team, model, provider, status, error_code, stream, completed, input_tokens, output_tokens, cost_pusd, cache, latency_ms FROM spend WHERE ${where.join(" AND ")} ORDER BY ts DESC LIMIT ?`,
    )
    .bind(...params, limit)
    .all<Row>();
  return results.map((r) => ({
    ts: num(r.ts),
    requestId: String(r.request_id),
    clientRequestId: r.client_request_id === null ? null : String(r.client_request_id),
    keyId: String(r.key_id),
    team: r.team === null ? null : String(r.team),
    model: String(r.model),
    provider: r.provider === null ? null : String(r.provider),
    status: num(r.status),
    errorCode: r.error_code === null ? null : String(r.error_code),
    stream: r.stream === 1,
    completed: r.completed === 1,
    inputTokens: num(r.input_tokens),
    outputTokens: num(r.output_tokens),
    costPicoUsd: r.cost_pusd === null ? null : num(r.cost_pusd),
    cache: String(r.cache),
    latencyMs: num(r.latency_ms),
  }));
}
