import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { pruneRows, writeRows } from "../../src/spend/ledger";
import { querySpend, spendSql, sumGroups } from "../../src/spend/query";
import { row } from "./ledger-helpers";

const at = (iso: string) => Date.parse(iso);

describe("Spend queries", () => {
  it("reads whole days from the rollups and partial days from raw rows", () => {
    const q = {
      fromMs: at("2026-03-01T12:00:00Z"),
      toMs: at("2026-03-04T06:00:00Z"),
      groupBy: null,
      filters: {},
    };
    const { sql, params } = spendSql(q);
    expect(sql).toContain("FROM spend_daily WHERE day >= ? AND day < ?");
    expect(params).toEqual([
      q.fromMs,
      at("2026-03-02T00:00:00Z"),
      "2026-03-02",
      "2026-03-04",
      at("2026-03-04T00:00:00Z"),
      q.toMs,
    ]);
    const inside = spendSql({ ...q, toMs: at("2026-03-01T18:00:00Z") });
    expect(inside.sql).not.toContain("spend_daily");
  });

  it("counts each call in range once, whole days included even after their raw rows are gone", async () => {
    const k = "key_range";
    const times = [
      "2026-03-01T10:00:00Z", // before the range
      "2026-03-01T13:00:00Z", // partial first day
      "2026-03-02T00:00:00Z",
      "2026-03-03T23:59:59Z",
      "2026-03-04T05:59:59Z", // partial last day
      "2026-03-04T06:00:00Z", // `to` is exclusive
    ];
    await writeRows(
      env.DB,
      times.map((t, i) => row({ key_id: k, ts: at(t), cost_pusd: 10 ** i })),
    );
    const q = {
      fromMs: at("2026-03-01T12:00:00Z"),
      toMs: at("2026-03-04T06:00:00Z"),
      groupBy: "day" as const,
      filters: { key: k },
    };
    const before = await querySpend(env.DB, q);
    expect(before.map((g) => [g.group, g.requests, g.costPicoUsd])).toEqual([
      ["2026-03-01", 1, 10n],
      ["2026-03-02", 1, 100n],
      ["2026-03-03", 1, 1000n],
      ["2026-03-04", 1, 10000n],
    ]);
    // Retention removes the raw rows of the middle days; their rollups still answer.
    await env.DB.prepare("DELETE FROM spend WHERE key_id = ? AND ts >= ? AND ts < ?")
      .bind(k, at("2026-03-02T00:00:00Z"), at("2026-03-04T00:00:00Z"))
      .run();
    expect(sumGroups(await querySpend(env.DB, q)).costPicoUsd).toBe(11110n);
  });

  it("sums costs past 2^53 pico-USD exactly", async () => {
    const k = "key_big";
    const big = 9_000_000_000_000_001; // just under 2^53: about $9,000 in one call
    await writeRows(
      env.DB,
      [1, 2, 3].map(() => row({ key_id: k, cost_pusd: big })),
    );
    const [g] = await querySpend(env.DB, {
      fromMs: 0,
      toMs: Date.UTC(2030, 0),
      groupBy: null,
      filters: { key: k },
    });
    expect(g?.costPicoUsd).toBe(27_000_000_000_000_003n);
  });

  it("prunes raw rows older than the cut-off and keeps their rollups", async () => {
    const k = "key_prune";
    await writeRows(env.DB, [
      row({ key_id: k, ts: at("2025-01-01T10:00:00Z"), cost_pusd: 1 }),
      row({ key_id: k, ts: at("2026-06-01T10:00:00Z"), cost_pusd: 2 }),
    ]);
    await pruneRows(env.DB, at("2026-01-01T00:00:00Z"));
    const left = await env.DB.prepare("SELECT ts FROM spend WHERE key_id = ?").bind(k).all();
    expect(left.results).toEqual([{ ts: at("2026-06-01T10:00:00Z") }]);
    const all = await querySpend(env.DB, {
      fromMs: at("2024-12-01T00:00:00Z"),
      toMs: at("2026-07-01T00:00:00Z"),
      groupBy: null,
      filters: { key: k },
    });
    expect(all[0]?.costPicoUsd).toBe(3n);
  });
});
