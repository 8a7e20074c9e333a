import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RowArray } from "../../src/spend/ledger";
import { gateway, post } from "../helpers/gateway";
import { flushSpend, newKey, rowsOf } from "./ledger-helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The real SPEND namespace, recording how many rows each `recordArrays` RPC carried (counted in its JSON). */
function countingSpend(sizes: number[]) {
  return {
    idFromName: (name: string) => env.SPEND.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = env.SPEND.get(id);
      return {
        recordArrays: (arrays: RowArray[], settings: { retentionDays: number }) => {
          let rows = 0;
          for (const a of arrays) {
            const parsed = JSON.parse(a.json) as unknown[];
            expect(parsed).toHaveLength(a.rows);
            rows += parsed.length;
          }
          sizes.push(rows);
          return stub.recordArrays(arrays, settings);
        },
      };
    },
  };
}

describe("Spend rows leaving the isolate", () => {
  it("travel together: calls ending at once share one RPC to the buffer, and every row arrives", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const sizes: number[] = [];
    const g = gateway(undefined, { SPEND: countingSpend(sizes) });
    const key = await newKey(g);
    const res = await Promise.all(
      Array.from({ length: 30 }, () =>
        g.fetch(
          "/v1/chat/completions",
          post({ model: "mock/echo", messages: [{ role: "user", content: "x" }] }, key.secret),
        ),
      ),
    );
    for (const r of res) expect(r.status).toBe(200);
    await Promise.all(res.map((r) => r.text()));
    await g.settle();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(30);
    expect(sizes.length).toBeLessThan(30);
    await flushSpend();
    expect(await rowsOf(key.id)).toHaveLength(30);
  });
});
