import { SPEND_COLUMNS, type SpendRow } from "./row";

/**
 * Bytes of rows per INSERT statement. Rows travel as one JSON parameter (so D1's 100-parameter limit never
 * binds), kept under D1's 100 KB statement size in case a bound value counts towards it.
 */
export const BYTES_PER_STATEMENT = 90_000;

/**
 * The rows of one JSON array parameter, each row a JSON array of its values in SPEND_COLUMNS order (the stored
 * form, see rowArrays). Each row's text is taken out of the array once (the materialized `batch`): read as
 * `value ->> …` in the select list, SQLite would render the element again for every column.
 */
const INSERT = `WITH batch AS MATERIALIZED (SELECT value AS j FROM json_each(?))
INSERT OR IGNORE INTO spend (${SPEND_COLUMNS.join(", ")})
SELECT ${SPEND_COLUMNS.map((_, i) => `j ->> ${i}`).join(", ")} FROM batch`;

/** The same for rows stored as JSON objects (column → value): what SpendBuffers held before rows were tuples. */
const INSERT_OBJECTS = `WITH batch AS MATERIALIZED (SELECT value AS j FROM json_each(?))
INSERT OR IGNORE INTO spend (${SPEND_COLUMNS.join(", ")})
SELECT ${SPEND_COLUMNS.map((c) => `j ->> '$.${c}'`).join(", ")} FROM batch`;

const TOKENS = [
  "input_tokens",
  "cached_input_tokens",
  "cache_write_tokens",
  "output_tokens",
  "reasoning_tokens",
] as const;
const SUMS = ["requests", "errors", "unpriced", ...TOKENS, "cost_pusd", "saved_pusd"];

/** Adds the rows not yet rolled up to the daily table (one upsert), in the transaction that inserted them. */
const ROLLUP = `INSERT INTO spend_daily (day, key_id, team, model, provider, upstream_model, ${SUMS.join(", ")})
SELECT date(ts / 1000, 'unixepoch'), key_id, COALESCE(team, ''), model, COALESCE(provider, ''),
       COALESCE(upstream_model, ''), COUNT(*), SUM(status >= 400), SUM(cost_pusd IS NULL),
       ${TOKENS.map((t) => `SUM(${t})`).join(", ")}, COALESCE(SUM(cost_pusd), 0), SUM(saved_pusd)
FROM spend WHERE rolled = 0 GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (day, key_id, team, model, provider, upstream_model) DO UPDATE SET
${SUMS.map((s) => `${s} = ${s} + excluded.${s}`).join(", ")}`;

/** Spend rows as one JSON array's text, and how many. */
export interface RowArray {
  json: string;
  rows: number;
}

/** A row's values in SPEND_COLUMNS order: its stored form. */
const tupleOf = (row: SpendRow): unknown[] => SPEND_COLUMNS.map((c) => row[c]);

/**
 * Spend rows in their stored form: a JSON array with one array per row, its values in SPEND_COLUMNS order. A row
 * as a tuple is about a third of its text as an object (no column names), and that text is stringified, sent
 * to a SpendBuffer, stored, read back, sent to D1 and parsed there for every call.
 */
const stored = (rows: readonly SpendRow[]): string => JSON.stringify(rows.map(tupleOf));

/**
 * Spend rows as JSON array texts of at most `maxRows` rows and BYTES_PER_STATEMENT characters each (a row
 * longer than that alone), in order, each row a tuple (see `stored`): the form rows are stored in (one
 * SpendBuffer row per array) and sent to D1 in. The whole array is tried first; only one too large is split, in
 * halves.
 */
export function rowArrays(rows: readonly SpendRow[], maxRows = Number.POSITIVE_INFINITY): RowArray[] {
  if (rows.length === 0) return [];
  if (rows.length > maxRows) {
    const out: RowArray[] = [];
    for (let i = 0; i < rows.length; i += maxRows) out.push(...rowArrays(rows.slice(i, i + maxRows)));
    return out;
  }
  const json = stored(rows);
  if (json.length <= BYTES_PER_STATEMENT || rows.length === 1) return [{ json, rows: rows.length }];
  const half = rows.length >> 1;
  return [...rowArrays(rows.slice(0, half)), ...rowArrays(rows.slice(half))];
}

/** Writes spend rows to D1 in one transaction (see writeRowArrays). */
export function writeRows(db: D1Database, rows: readonly SpendRow[]): Promise<void> {
  return writeRowArrays(
    db,
    rowArrays(rows).map((a) => a.json),
  );
}

/**
 * Writes spend rows, given as JSON array texts (rowArrays; texts of rows as objects too — `[{…},…]`, or a single
 * row's `{…}` — the forms SpendBuffers stored rows in before), to D1 in one transaction (`batch`): multi-row
 * inserts that ignore rows already present (a retry after an unconfirmed success), then the daily rollup of
 * exactly the rows this transaction inserted. Either everything commits or nothing does, so a retry never
 * double-counts a rollup. Consecutive arrays of one form share a statement while it stays under
 * BYTES_PER_STATEMENT; the texts go into it as they are, never parsed here.
 */
export async function writeRowArrays(db: D1Database, arrays: readonly string[]): Promise<void> {
  const stmts: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let bytes = 0;
  let objects = false;
  const flush = () => {
    if (chunk.length > 0)
      stmts.push(db.prepare(objects ? INSERT_OBJECTS : INSERT).bind(`[${chunk.join(",")}]`));
    chunk = [];
    bytes = 0;
  };
  for (const text of arrays) {
    // The array's elements, as text: "[a,b]" → "a,b"; an object (one row) is its own element.
    const items = text.startsWith("[") ? text.slice(1, -1) : text;
    if (items === "") continue;
    const isObjects = items.startsWith("{");
    if (isObjects !== objects || bytes + items.length + 2 > BYTES_PER_STATEMENT) flush();
    objects = isObjects;
    chunk.push(items);
    bytes += items.length + 1;
  }
  flush();
  if (stmts.length === 0) return;
  stmts.push(db.prepare(ROLLUP), db.prepare("UPDATE spend SET rolled = 1 WHERE rolled = 0"));
  await db.batch(stmts);
}

/** Deletes up to `limit` raw rows older than `beforeMs` (their daily rollups stay); returns how many went. */
export async function pruneRows(db: D1Database, beforeMs: number, limit = 5000): Promise<number> {
  const r = await db
    .prepare("DELETE FROM spend WHERE rowid IN (SELECT rowid FROM spend WHERE ts < ? AND rolled = 1 LIMIT ?)")
    .bind(beforeMs, limit)
    .run();
  return r.meta.changes;
}
