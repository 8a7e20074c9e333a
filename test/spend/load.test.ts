import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SpendBuffer } from "../../src/spend/buffer";
import { gateway, post } from "../helpers/gateway";
import { flushSpend, newKey, pendingRows } from "./ledger-helpers";

const REQUESTS = 2000;
const CONCURRENCY = 25;
const SHARDS = 4;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every shard's D1 fails its first `failures` transactions, then works (the real local D1 underneath). */
async function d1OutageOnShards(failures: number) {
  for (let i = 0; i < SHARDS; i++) {
    await runInDurableObject(env.SPEND.get(env.SPEND.idFromName(`spend:${i}`)), (o: SpendBuffer) => {
      let calls = 0;
      const real = env.DB;
      o.db = {
        prepare: (sql: string) => real.prepare(sql),
        batch: (stmts: D1PreparedStatement[]) =>
          ++calls <= failures ? Promise.reject(new Error("D1_ERROR: overloaded")) : real.batch(stmts),
      } as unknown as D1Database;
    });
  }
}

describe("A burst of calls", () => {
  it(`ends with one row per call (${REQUESTS} calls, D1 failing for a while), none lost`, async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const g = gateway({
      providers: { mock: { type: "mock" } },
      pricing: { echo: { input: 1, output: 2 } },
      spend: { shards: SHARDS },
    });
    const key = await newKey(g, { name: "burst" });
    await d1OutageOnShards(3);

    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const i = next++;
        const model = i % 10 === 0 ? "mock/fail-500" : "mock/echo";
        const res = await g.fetch(
          "/v1/chat/completions",
          post({ model, messages: [{ role: "user", content: `n${i}` }] }, key.secret),
        );
        await res.text();
        if (res.ok) ok++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await g.settle();
    expect(ok).toBe(REQUESTS - REQUESTS / 10);

    await flushSpend();
    expect(await pendingRows()).toBe(0);
    const failedFlushes = errors.mock.calls.filter((c) => String(c[0]).includes("sluice.spend.flush_failed"));
    // Every shard that received rows failed exactly 3 flushes before D1 came back (rows travel in batches to a
    // random shard, so a shard may have received none).
    expect(failedFlushes.length).toBeGreaterThanOrEqual(3);
    expect(failedFlushes.length % 3).toBe(0);
    const n = await env.DB.prepare(
      "SELECT COUNT(*) AS n, SUM(status >= 400) AS failed FROM spend WHERE key_id = ?",
    )
      .bind(key.id)
      .first<{ n: number; failed: number }>();
    expect(n).toEqual({ n: REQUESTS, failed: REQUESTS / 10 });
    const rolled = await env.DB.prepare("SELECT SUM(requests) AS n FROM spend_daily WHERE key_id = ?")
      .bind(key.id)
      .first<number>("n");
    expect(rolled).toBe(REQUESTS);
  }, 120_000);
});
