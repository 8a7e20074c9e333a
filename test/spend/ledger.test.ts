import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rowArrays, writeRowArrays, writeRows } from "../../src/spend/ledger";
import { SPEND_COLUMNS } from "../../src/spend/row";
import { row } from "./ledger-helpers";

const daily = (keyId: string) =>
  env.DB.prepare("SELECT * FROM spend_daily WHERE key_id = ? ORDER BY day, model")
    .bind(keyId)
    .all<Record<string, number | string>>()
    .then((r) => r.results);

describe("Writing spend rows to D1", () => {
  it("inserts every row in one transaction and rolls them up per key, model and UTC day", async () => {
    const k = "key_write";
    const rows = [
      row({ key_id: k, model: "a", cost_pusd: 7, input_tokens: 3, output_tokens: 1 }),
      row({ key_id: k, model: "a", cost_pusd: 11, input_tokens: 4, output_tokens: 2 }),
      row({ key_id: k, model: "b", cost_pusd: null, status: 200 }),
      row({ key_id: k, model: "a", ts: Date.UTC(2026, 0, 11, 0, 0, 1), cost_pusd: 0, status: 503 }),
    ];
    await writeRows(env.DB, rows);
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM spend WHERE key_id = ?").bind(k).first("n");
    expect(n).toBe(4);
    expect(await daily(k)).toMatchObject([
      {
        day: "2026-01-10",
        model: "a",
        requests: 2,
        errors: 0,
        cost_pusd: 18,
        input_tokens: 7,
        output_tokens: 3,
      },
      { day: "2026-01-10", model: "b", requests: 1, unpriced: 1, cost_pusd: 0 },
      { day: "2026-01-11", model: "a", requests: 1, errors: 1, cost_pusd: 0 },
    ]);
  });

  it("ignores rows already written, so a retried flush never double-counts the rollup", async () => {
    const k = "key_retry";
    const first = [row({ key_id: k, cost_pusd: 5 }), row({ key_id: k, cost_pusd: 6 })];
    await writeRows(env.DB, first);
    // The same batch again (its success was not confirmed), plus one new row.
    await writeRows(env.DB, [...first, row({ key_id: k, cost_pusd: 100 })]);
    const rolled = await daily(k);
    expect(rolled).toHaveLength(1);
    expect(rolled[0]).toMatchObject({ requests: 3, cost_pusd: 111 });
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM spend WHERE key_id = ?").bind(k).first("n");
    expect(n).toBe(3);
  });

  it("counts a row that reaches one flush twice once, and rows split over statements once each", async () => {
    const k = "key_twice";
    const once = row({ key_id: k, cost_pusd: 40 });
    // One statement holds ~90 KB of rows: these span several, with the duplicate in a later one too.
    const many = Array.from({ length: 700 }, (_, i) =>
      row({ key_id: k, cost_pusd: 1, metadata: JSON.stringify({ pad: "x".repeat(i % 3 === 0 ? 400 : 10) }) }),
    );
    await writeRowArrays(env.DB, [
      rowArrays([once, once])[0]?.json ?? "",
      ...rowArrays(many).map((a) => a.json),
      rowArrays([once])[0]?.json ?? "",
    ]);
    expect(await daily(k)).toMatchObject([{ requests: 701, cost_pusd: 740 }]);
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM spend WHERE key_id = ?").bind(k).first("n");
    expect(n).toBe(701);
  });

  it("stores each row once, already marked rolled up, and still rolls up rows seeded unrolled", async () => {
    const k = "key_seeded";
    const seeded = row({ key_id: k, cost_pusd: 9 });
    const values = SPEND_COLUMNS.map((c) => seeded[c]);
    // As scripts/seed-spend.mjs inserts: straight into the table, rolled = 0, for the next flush to count.
    await env.DB.prepare(
      `INSERT INTO spend (${SPEND_COLUMNS.join(", ")}, rolled) VALUES (${SPEND_COLUMNS.map(() => "?").join(", ")}, 0)`,
    )
      .bind(...values)
      .run();
    const changes: number[] = [];
    const db = {
      prepare: (sql: string) => env.DB.prepare(sql),
      batch: async (stmts: D1PreparedStatement[]) => {
        const out = await env.DB.batch(stmts);
        for (const r of out) changes.push(r.meta.changes);
        return out;
      },
    } as unknown as D1Database;
    await writeRows(db, [row({ key_id: k, cost_pusd: 20 }), row({ key_id: k, cost_pusd: 13 })]);
    expect(await daily(k)).toMatchObject([{ requests: 3, cost_pusd: 42 }]);
    // Statements: the watermark (1 row), the insert (2 rows), the rollup of the rows above the mark (1 daily
    // row), the unrolled rollup (1), the seeded row marked (1): no flushed row is written a second time.
    expect(changes).toEqual([1, 2, 1, 1, 1]);
    const unrolled = await env.DB.prepare("SELECT COUNT(*) AS n FROM spend WHERE key_id = ? AND rolled = 0")
      .bind(k)
      .first("n");
    expect(unrolled).toBe(0);
  });

  it("writes a thousand rows in one call, in statements of one parameter under 100 KB each", async () => {
    const k = "key_bulk";
    const rows = Array.from({ length: 1000 }, (_, i) =>
      row({
        key_id: k,
        cost_pusd: i,
        metadata: JSON.stringify({ note: "x".repeat(i % 7 === 0 ? 1900 : 10) }),
      }),
    );
    const binds: unknown[][] = [];
    let batches = 0;
    const db = {
      prepare(sql: string) {
        const st = env.DB.prepare(sql);
        const bind = st.bind.bind(st);
        st.bind = (...args: unknown[]) => {
          binds.push(args);
          return bind(...args);
        };
        return st;
      },
      batch(stmts: D1PreparedStatement[]) {
        batches++;
        return env.DB.batch(stmts);
      },
    } as unknown as D1Database;
    await writeRows(db, rows);
    const inserts = binds.filter((c) => String(c[0]).startsWith("[["));
    expect(inserts.length).toBeGreaterThan(1);
    for (const c of inserts) {
      expect(c).toHaveLength(1);
      expect(String(c[0]).length).toBeLessThanOrEqual(90_000);
    }
    expect(inserts.reduce((s, c) => s + (JSON.parse(String(c[0])) as unknown[]).length, 0)).toBe(1000);
    expect(batches).toBe(1);
    const [d] = await daily(k);
    expect(d).toMatchObject({ requests: 1000, cost_pusd: (999 * 1000) / 2 });
  });

  it("keeps column values exactly, NULLs included", async () => {
    const r = row({
      key_id: "key_exact",
      team: "red",
      end_user: "u-1",
      metadata: '{"feature":"search"}',
      provider: null,
      upstream_model: null,
      target_index: null,
      ttfb_ms: null,
      cost_pusd: 123_456_789_012,
      error_code: "rate_limit_exceeded",
      status: 429,
    });
    await writeRows(env.DB, [r]);
    const got = await env.DB.prepare("SELECT * FROM spend WHERE request_id = ?").bind(r.request_id).first();
    expect(got).toEqual({ ...r, rolled: 1 });
  });
});
