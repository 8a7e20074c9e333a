import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newRequestId } from "../../src/http/ids";
import { expectError } from "../helpers/errors";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";
import { flushSpend, rowsOf } from "../spend/ledger-helpers";
import { ASK, PER_CALL_PUSD, upstream } from "./fixtures";

/**
 * A client's `x-request-id` is data, never identity: a client that pins one id on every call must be counted
 * call by call in every limit and in the ledger, within one key and across keys.
 * Prices as in fixtures.ts: each call costs exactly PER_CALL_PUSD (6 input + 50 output tokens at $1/M).
 */
const CONFIG = {
  providers: { openai: { type: "openai", apiKey: "sk-o" }, slow: { type: "mock", latencyMs: 200 } },
  models: {},
  pricing: { "openai/gpt-4o-mini": { input: 1, output: 1 }, "slow/echo": { input: 1, output: 1 } },
};
const PINNED = { "x-request-id": "pinned-id-1" };

afterEach(() => {
  vi.restoreAllMocks();
});

async function newKey(g: Gateway, body: Record<string, unknown>) {
  const res = await g.fetch("/admin/keys", post(body, ADMIN_TOKEN));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

/** `n` calls one after another with the pinned id; their statuses and error codes. */
async function sequence(g: Gateway, key: string, n: number, body: Record<string, unknown> = ASK) {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await g.fetch("/v1/chat/completions", post(body, key, PINNED));
    expect(res.headers.get("x-request-id")).toBe(PINNED["x-request-id"]);
    out.push(res.ok ? String(res.status) : ((await res.json()) as { error: { code: string } }).error.code);
    await g.settle();
  }
  return out;
}

describe("A pinned client request id", () => {
  it("does not lift a request-per-minute limit", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await newKey(g, { name: "rpm", rpm: 3 });
    expect(await sequence(g, k.key, 6)).toEqual([
      "200",
      "200",
      "200",
      "rate_limit_exceeded",
      "rate_limit_exceeded",
      "rate_limit_exceeded",
    ]);
  });

  it("does not lift a tokens-per-minute limit", async () => {
    upstream();
    const g = gateway(CONFIG);
    // Each call reserves and settles 56 tokens: two fit in 120.
    const k = await newKey(g, { name: "tpm", tpm: 120 });
    expect(await sequence(g, k.key, 3)).toEqual(["200", "200", "tokens_per_minute"]);
  });

  it("does not lift a concurrency limit", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const g = gateway(CONFIG);
    const k = await newKey(g, { name: "conc", maxConcurrent: 2 });
    const body = { model: "slow/echo", messages: ASK.messages };
    const res = await Promise.all(
      Array.from({ length: 5 }, () => g.fetch("/v1/chat/completions", post(body, k.key, PINNED))),
    );
    const codes = await Promise.all(
      res.map(async (r) => (r.ok ? "200" : ((await r.json()) as { error: { code: string } }).error.code)),
    );
    await g.settle();
    expect(codes.filter((c) => c === "200")).toHaveLength(2);
    expect(codes.filter((c) => c === "concurrency_limit")).toHaveLength(3);
  });

  it("does not lift a budget: every call's cost is settled", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    // 5.5 calls' worth.
    const k = await newKey(g, {
      name: "budget",
      budget: { usd: (5.5 * PER_CALL_PUSD) / 1e12, period: "total" },
    });
    const codes = await sequence(g, k.key, 10);
    expect(codes).toEqual([...Array(5).fill("200"), ...Array(5).fill("budget_exceeded")]);
    expect(fake.chatRequests).toHaveLength(5);
    const spent = await env.LIMITS.get(env.LIMITS.idFromName(`limits:key:${k.id}`)).usage();
    expect(BigInt(spent.spentPusd.total)).toBe(BigInt(5 * PER_CALL_PUSD));
  });

  it("leaves one spend row per call, under the gateway's ids, with the client's id kept and searchable", async () => {
    upstream();
    const g = gateway(CONFIG);
    const a = await newKey(g, { name: "a" });
    const b = await newKey(g, { name: "b" });
    // The storage outlives one test: an id of its own.
    const pinned = `support-${crypto.randomUUID()}`;
    const gatewayIds: string[] = [];
    for (const key of [a.key, a.key, a.key, a.key, b.key]) {
      const res = await g.fetch("/v1/chat/completions", post(ASK, key, { "x-request-id": pinned }));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe(pinned);
      gatewayIds.push(String(res.headers.get("x-sluice-request-id")));
    }
    await g.settle();
    await flushSpend();
    expect(new Set(gatewayIds).size).toBe(5);
    for (const id of gatewayIds) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    const rowsA = await rowsOf(a.id);
    const rowsB = await rowsOf(b.id);
    expect(rowsA).toHaveLength(4);
    expect(rowsB).toHaveLength(1);
    for (const r of [...rowsA, ...rowsB]) expect(r.client_request_id).toBe(pinned);
    expect(new Set([...rowsA, ...rowsB].map((r) => r.request_id))).toEqual(new Set(gatewayIds));

    const found = await g.fetch(`/admin/spend?client_request_id=${pinned}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await found.json()) as {
      total: { requests: number; costPicoUsd: string };
      calls: { requestId: string; clientRequestId: string; key: string }[];
    };
    expect(body.total.requests).toBe(5);
    expect(body.total.costPicoUsd).toBe(String(5 * PER_CALL_PUSD));
    expect(new Set(body.calls.map((c) => c.requestId))).toEqual(new Set(gatewayIds));
    expect(body.calls.filter((c) => c.key === b.id)).toHaveLength(1);
    // A key sees only its own calls under that id.
    const own = await g.fetch(`/v1/spend?client_request_id=${pinned}`, {
      headers: { authorization: `Bearer ${b.key}` },
    });
    const ownBody = (await own.json()) as { total: { requests: number }; calls: unknown[] };
    expect(ownBody.total.requests).toBe(1);
    expect(ownBody.calls).toHaveLength(1);
  });

  it("is replaced by a gateway id when it is not a sane token, and never stored", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await newKey(g, { name: "unsafe" });
    const res = await g.fetch("/v1/chat/completions", post(ASK, k.key, { "x-request-id": "bad id<script>" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(res.headers.get("x-sluice-request-id"));
    await g.settle();
    await flushSpend();
    const [row] = await rowsOf(k.id);
    expect(row?.client_request_id).toBeNull();
    expect(row?.request_id).toBe(res.headers.get("x-sluice-request-id"));
  });

  it("is refused as a spend filter when it is not a valid value", async () => {
    const g = gateway(CONFIG);
    const res = await g.fetch(`/admin/spend?client_request_id=${"x".repeat(300)}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await expectError(res, 400, "invalid_request", "client_request_id");
  });
});

describe("The gateway's request ids", () => {
  it("sort by the time they were made, and differ within one millisecond", () => {
    const t = Date.UTC(2026, 11, 3, 9, 30);
    const same = Array.from({ length: 1000 }, () => newRequestId(t));
    expect(new Set(same).size).toBe(1000);
    for (const id of same) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    // Made at later times: later in the ledger's primary-key order (plain string comparison, as SQLite's).
    const times = [t - 86_400_000, t - 1, t, t + 1, t + 3_600_000];
    const ids = times.map((ms) => newRequestId(ms));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]?.slice(4, 16)).toBe((t - 86_400_000).toString(16).padStart(12, "0"));
  });
});
