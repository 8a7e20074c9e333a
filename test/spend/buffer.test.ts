import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { SpendBuffer } from "../../src/spend/buffer";
import { SPEND_COLUMNS } from "../../src/spend/row";
import { row, storedRows } from "./ledger-helpers";

const SETTINGS = { retentionDays: 0 };
const stubOf = (name: string) => env.SPEND.get(env.SPEND.idFromName(name));
const pending = (name: string) => runInDurableObject(stubOf(name), (o: SpendBuffer) => o.pendingCount());
const written = (keyId: string) =>
  env.DB.prepare("SELECT COUNT(*) AS n FROM spend WHERE key_id = ?").bind(keyId).first<number>("n");

/** The real local D1, but every `batch` fails until `failures` have happened. */
function flakyDb(failures: number): D1Database & { calls: number } {
  const db = env.DB;
  const flaky = {
    calls: 0,
    prepare: (sql: string) => db.prepare(sql),
    batch: (stmts: D1PreparedStatement[]) => {
      flaky.calls++;
      if (flaky.calls <= failures) return Promise.reject(new Error("D1_ERROR: database is overloaded"));
      return db.batch(stmts);
    },
  };
  return flaky as unknown as D1Database & { calls: number };
}

describe("The spend buffer Durable Object", () => {
  it("keeps each recorded row durably and schedules a flush", async () => {
    const stub = stubOf("spend:t-keep");
    await stub.record(row({ key_id: "key_keep" }), SETTINGS);
    await stub.record(row({ key_id: "key_keep" }), SETTINGS);
    expect(await pending("spend:t-keep")).toBe(2);
    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await written("key_keep")).toBe(0);
  });

  it("flushes pending rows to D1 when its alarm runs, then forgets them", async () => {
    const stub = stubOf("spend:t-flush");
    for (let i = 0; i < 5; i++) await stub.record(row({ key_id: "key_flush" }), SETTINGS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await written("key_flush")).toBe(5);
    expect(await pending("spend:t-flush")).toBe(0);
  });

  it("stores a batch of rows as one row of its own SQLite, in order and exactly as sent", async () => {
    const stub = stubOf("spend:t-batch");
    const rows = [
      row({ key_id: "key_batch", end_user: 'zoë 🚀 "quoted"', metadata: '{"team":"été","n":1}' }),
      row({ key_id: "key_batch", cost_pusd: 4_000_000_000_000_000, error_code: "upstream_stream_cut" }),
      row({ key_id: "key_batch", status: 429, cost_pusd: null }),
    ];
    await stub.recordAll(rows, SETTINGS);
    const stored = await runInDurableObject(stub, (_o, state) =>
      state.storage.sql.exec<{ row: string; n: number }>("SELECT row, n FROM pending ORDER BY seq").toArray(),
    );
    // One stored row per batch: a Durable Object's SQLite bills rows written, one insert and one delete each.
    expect(stored).toHaveLength(1);
    expect(stored[0]?.n).toBe(3);
    // Each row a tuple of its values in column order (no column names: a third of the text).
    expect(JSON.parse(stored[0]?.row ?? "")).toEqual(rows.map((r) => SPEND_COLUMNS.map((c) => r[c])));
    expect(storedRows(stored[0]?.row ?? "")).toEqual(rows);
    expect(await pending("spend:t-batch")).toBe(3);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const { results } = await env.DB.prepare(
      "SELECT request_id, end_user, metadata, cost_pusd, status FROM spend WHERE key_id = ? ORDER BY rowid",
    )
      .bind("key_batch")
      .all();
    expect(results).toEqual(
      rows.map((r) => ({
        request_id: r.request_id,
        end_user: r.end_user,
        metadata: r.metadata,
        cost_pusd: r.cost_pusd,
        status: r.status,
      })),
    );
  });

  it("flushes rows an earlier version stored as objects, beside tuples, each counted once", async () => {
    const stub = stubOf("spend:t-objects");
    const old = [row({ key_id: "key_objects", cost_pusd: 7 }), row({ key_id: "key_objects", cost_pusd: 11 })];
    const single = row({ key_id: "key_objects", cost_pusd: 13, end_user: "o'brien" });
    // What a buffer held before rows were tuples: an array of row objects, and (older) one row object.
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("INSERT INTO pending (row, n) VALUES (?, 2)", JSON.stringify(old));
      state.storage.sql.exec("INSERT INTO pending (row, n) VALUES (?, 1)", JSON.stringify(single));
    });
    const fresh = row({ key_id: "key_objects", cost_pusd: 17 });
    await stub.recordAll([fresh], SETTINGS);
    expect(await pending("spend:t-objects")).toBe(4);
    while (await runDurableObjectAlarm(stub));
    const { results } = await env.DB.prepare(
      "SELECT request_id, end_user, cost_pusd FROM spend WHERE key_id = ? ORDER BY rowid",
    )
      .bind("key_objects")
      .all();
    expect(results).toEqual(
      [...old, single, fresh].map((r) => ({
        request_id: r.request_id,
        end_user: r.end_user,
        cost_pusd: r.cost_pusd,
      })),
    );
    const daily = await env.DB.prepare(
      "SELECT SUM(requests) AS n, SUM(cost_pusd) AS cost FROM spend_daily WHERE key_id = ?",
    )
      .bind("key_objects")
      .first();
    expect(daily).toEqual({ n: 4, cost: 7 + 11 + 13 + 17 });
  });

  it("flushes more rows than one transaction holds over several alarms", async () => {
    const stub = stubOf("spend:t-many");
    const rows = Array.from({ length: 2600 }, () => row({ key_id: "key_many" }));
    await Promise.all(rows.map((r) => stub.record(r, SETTINGS)));
    while (await runDurableObjectAlarm(stub));
    expect(await written("key_many")).toBe(2600);
    expect(await pending("spend:t-many")).toBe(0);
  });

  it("flushes batches in transactions of at most ROWS_PER_FLUSH rows, splitting none it stored", async () => {
    const { ROWS_PER_FLUSH } = await import("../../src/spend/buffer");
    const stub = stubOf("spend:t-big");
    const counting = flakyDb(0);
    const sizes: number[] = [];
    const db = {
      prepare: (sql: string) => counting.prepare(sql),
      batch: async (stmts: D1PreparedStatement[]) => {
        const before = await written("key_bigbatch");
        const out = await counting.batch(stmts);
        sizes.push(((await written("key_bigbatch")) ?? 0) - (before ?? 0));
        return out;
      },
    } as unknown as D1Database;
    await runInDurableObject(stub, (o: SpendBuffer) => {
      o.db = db;
    });
    // One RPC larger than a transaction (stored as 1000 + 1000 + 600), then four of 300: whole batches go
    // together while they fit, so 1000 | 1000 | 600 + 300 | 300 + 300 + 300.
    await stub.recordAll(
      Array.from({ length: 2600 }, () => row({ key_id: "key_bigbatch" })),
      SETTINGS,
    );
    for (let i = 0; i < 4; i++) {
      await stub.recordAll(
        Array.from({ length: 300 }, () => row({ key_id: "key_bigbatch" })),
        SETTINGS,
      );
    }
    expect(await pending("spend:t-big")).toBe(3800);
    while (await runDurableObjectAlarm(stub));
    expect(await written("key_bigbatch")).toBe(3800);
    expect(await pending("spend:t-big")).toBe(0);
    expect(sizes).toEqual([ROWS_PER_FLUSH, ROWS_PER_FLUSH, 900, 900]);
  });

  it("flushes rows a buffer stored one per call, before it stored batches whole", async () => {
    const stub = stubOf("spend:t-legacy");
    const rows = [row({ key_id: "key_legacy" }), row({ key_id: "key_legacy", cost_pusd: 9 })];
    const count = await runInDurableObject(stub, (o: SpendBuffer, state) => {
      // The table as an older version made it: one row's JSON object per SQLite row, no count column.
      state.storage.sql.exec("DROP TABLE pending");
      state.storage.sql.exec(
        "CREATE TABLE pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, row TEXT NOT NULL)",
      );
      for (const r of rows) state.storage.sql.exec("INSERT INTO pending (row) VALUES (?)", JSON.stringify(r));
      // The object as it starts after an upgrade, over that storage.
      const upgraded = new (o.constructor as typeof SpendBuffer)(state, env);
      return upgraded.pendingCount();
    });
    expect(count).toBe(2);
    await stub.recordAll([row({ key_id: "key_legacy" })], SETTINGS);
    expect(await pending("spend:t-legacy")).toBe(3);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await written("key_legacy")).toBe(3);
    expect(await pending("spend:t-legacy")).toBe(0);
  });

  it("loses nothing while D1 fails for a while: rows stay, the alarm retries with backoff", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const name = "spend:t-outage";
    const stub = stubOf(name);
    const db = flakyDb(3);
    await runInDurableObject(stub, (o: SpendBuffer) => {
      o.db = db;
    });
    for (let i = 0; i < 7; i++) await stub.record(row({ key_id: "key_outage" }), SETTINGS);

    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      const next = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
      delays.push((next ?? 0) - before);
      expect(await pending(name)).toBe(7);
      expect(await written("key_outage")).toBe(0);
    }
    // Doubling backoff: 2 s, 4 s, 8 s (±scheduling slack).
    expect(delays[1]).toBeGreaterThan(delays[0] as number);
    expect(delays[2]).toBeGreaterThan(delays[1] as number);

    // Rows recorded during the outage join the queue; D1 comes back and everything lands once.
    await stub.record(row({ key_id: "key_outage" }), SETTINGS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(db.calls).toBe(4);
    expect(await written("key_outage")).toBe(8);
    expect(await pending(name)).toBe(0);
    vi.restoreAllMocks();
  });
});

describe("The spend buffer's retention", () => {
  it("prunes every expired row in one run, batch after batch, not one batch an hour", async () => {
    const { writeRows } = await import("../../src/spend/ledger");
    const { PRUNE_BATCH_ROWS } = await import("../../src/spend/buffer");
    const keyId = `key_prune_${crypto.randomUUID()}`;
    // Rows from 1900: past even the longest retention (100 years), so no other test's rows are touched.
    const old = Array.from({ length: 2 * PRUNE_BATCH_ROWS + 100 }, (_, i) =>
      row({ key_id: keyId, ts: Date.UTC(1900, 0, 1) + i }),
    );
    await writeRows(env.DB, old);
    expect(await written(keyId)).toBe(old.length);
    const stub = stubOf(`spend:t-prune-${crypto.randomUUID()}`);
    await stub.record(row({ key_id: keyId }), { retentionDays: 36_500 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // The fresh row stays; all three batches of old ones went.
    expect(await written(keyId)).toBe(1);
  });
});
