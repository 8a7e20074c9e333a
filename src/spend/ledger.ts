import { SPEND_COLUMNS, type SpendRow } from "./row";

/**
 * Bytes of rows per INSERT statement. Rows travel as one JSON parameter (so D1's 100-parameter limit never
 * binds), kept under D1's 100 KB statement size in case a bound value counts towards it.
 */
export const BYTES_PER_STATEMENT = 90_000;

type Column = (typeof SPEND_COLUMNS)[number];

/**
 * How a statement reads a column out of a row `j` of its JSON array parameter: a tuple (the stored form, see
 * rowArrays) by position, or a row an earlier version stored as an object (column → value) by name.
 */
const column = (objects: boolean, c: Column) =>
  objects ? `j ->> '$.${c}'` : `j ->> ${SPEND_COLUMNS.indexOf(c)}`;

/**
 * The rows of one JSON array parameter, each row's text taken out of the array once (the materialized
 * `batch`: read as `value ->> …` in the select list, SQLite would render the element again for every column).
 */
const BATCH = "WITH batch AS MATERIALIZED (SELECT value AS j FROM json_each(?))";

/** Inserts the rows of a batch not yet present, marked as rolled up: the same transaction counts them (ROLLUP). */
const insert = (objects: boolean) => `${BATCH}
INSERT OR IGNORE INTO spend (${SPEND_COLUMNS.join(", ")}, rolled)
SELECT ${SPEND_COLUMNS.map((c) => column(objects, c)).join(", ")}, 1 FROM batch`;
const INSERT = { tuples: insert(false), objects: insert(true) };

const TOKENS = [
  "input_tokens",
  "cached_input_tokens",
  "cache_write_tokens",
  "output_tokens",
  "reasoning_tokens",
] as const;
const SUMS = ["requests", "errors", "unpriced", ...TOKENS, "cost_pusd", "saved_pusd"];

/** The daily table's upsert of the spend rows that `where` selects. */
const rollup = (
  where: string,
) => `INSERT INTO spend_daily (day, key_id, team, model, provider, upstream_model, ${SUMS.join(", ")})
SELECT date(ts / 1000, 'unixepoch'), key_id, COALESCE(team, ''), model, COALESCE(provider, ''),
       COALESCE(upstream_model, ''), COUNT(*), SUM(status >= 400), SUM(cost_pusd IS NULL),
       ${TOKENS.map((t) => `SUM(${t})`).join(", ")}, COALESCE(SUM(cost_pusd), 0), SUM(saved_pusd)
FROM spend WHERE ${where} GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (day, key_id, team, model, provider, upstream_model) DO UPDATE SET
${SUMS.map((s) => `${s} = ${s} + excluded.${s}`).join(", ")}`;

/**
 * The flush's watermark, taken first in its transaction: the highest rowid in `spend`. Rows the transaction
 * then inserts get higher rowids (SQLite gives a new row the highest rowid plus one), rows it ignores get none,
 * so the rollup of the rows above the mark counts exactly the rows this flush stored, each once — and no row is
 * written a second time to mark it (D1 bills rows written).
 */
const MARK = `INSERT INTO spend_mark (id, max_rowid) VALUES (1, (SELECT COALESCE(MAX(rowid), 0) FROM spend))
ON CONFLICT (id) DO UPDATE SET max_rowid = excluded.max_rowid`;
const ROLLUP = rollup("rowid > (SELECT max_rowid FROM spend_mark WHERE id = 1)");

/**
 * Rows stored by something other than a flush with `rolled = 0` (scripts/seed-spend.mjs; all of them below
 * the mark), counted and marked at the end of the next flush; the partial index `spend_unrolled` finds them,
 * so without any this costs next to nothing.
 */
const ROLLUP_UNROLLED = rollup("rolled = 0");
const MARK_UNROLLED = "UPDATE spend SET rolled = 1 WHERE rolled = 0";

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
 * row's `{…}` — the forms SpendBuffers stored rows in before), to D1 in one transaction (`batch`): the
 * watermark (MARK), multi-row inserts that ignore rows already present (a retry after an unconfirmed success),
 * the daily rollup of exactly the rows inserted (those above the mark), and last any rows stored by something
 * else and not yet rolled up. Either everything commits or nothing does, so a retry never double-counts a
 * rollup. Consecutive arrays of one form share a statement while it stays under BYTES_PER_STATEMENT; the texts
 * go into it as they are, never parsed here.
 */
export async function writeRowArrays(db: D1Database, arrays: readonly string[]): Promise<void> {
  const stmts: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let bytes = 0;
  let objects = false;
  const flush = () => {
    if (chunk.length > 0) {
      stmts.push(db.prepare(INSERT[objects ? "objects" : "tuples"]).bind(`[${chunk.join(",")}]`));
    }
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
  await db.batch([
    db.prepare(MARK),
    ...stmts,
    db.prepare(ROLLUP),
    db.prepare(ROLLUP_UNROLLED),
    db.prepare(MARK_UNROLLED),
  ]);
}

/** Deletes up to `limit` raw rows older than `beforeMs` (their daily rollups stay); returns how many went. */
export async function pruneRows(db: D1Database, beforeMs: number, limit = 5000): Promise<number> {
  const r = await db
    .prepare("DELETE FROM spend WHERE rowid IN (SELECT rowid FROM spend WHERE ts < ? AND rolled = 1 LIMIT ?)")
    .bind(beforeMs, limit)
    .run();
  return r.meta.changes;
}
