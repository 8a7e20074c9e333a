import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Limiter } from "../../src/limits/limiter";
import { expectError } from "../helpers/errors";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";
import { ASK, PER_CALL_PUSD, upstream } from "./fixtures";

/** Prices as in fixtures.ts: $1 per million tokens in and out, so each call costs PER_CALL_PUSD. */
const CONFIG = {
  providers: {
    openai: { type: "openai", apiKey: "sk-o" },
    slow: { type: "mock", latencyMs: 300 },
    streamy: { type: "mock", chunkDelayMs: 30 },
  },
  models: {},
  pricing: {
    "openai/gpt-4o-mini": { input: 1, output: 1 },
    "slow/echo": { input: 1, output: 1 },
    "streamy/lorem": { input: 1, output: 1 },
  },
};

afterEach(() => {
  vi.restoreAllMocks();
});

async function admin(g: Gateway, method: string, path: string, body?: unknown) {
  const res = await g.fetch(path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { id: string; key: string },
  };
}

const limiterOf = (name: string) => env.LIMITS.get(env.LIMITS.idFromName(name));
const spentTotal = async (name: string) => BigInt((await limiterOf(name).usage()).spentPusd.total);

/** Fires `n` chat calls at once; returns their statuses and error codes. */
async function burst(g: Gateway, keys: string[], n: number, body: Record<string, unknown> = ASK) {
  const res = await Promise.all(
    Array.from({ length: n }, (_, i) => g.fetch("/v1/chat/completions", post(body, keys[i % keys.length]))),
  );
  const out = await Promise.all(
    res.map(async (r) => ({
      status: r.status,
      code: r.ok ? null : ((await r.json()) as { error: { code: string } }).error.code,
      retryAfter: r.headers.get("retry-after"),
      text: r.ok ? await r.text() : "",
    })),
  );
  await g.settle();
  return out;
}

describe("Budgets under concurrency", () => {
  it("lets through only what a key's budget covers: settled spend never exceeds it, nothing sent after", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    // $0.000588 = 10.5 calls' worth.
    const k = await admin(g, "POST", "/admin/keys", {
      name: "budgeted",
      budget: { usd: 0.000588, period: "day" },
    });
    const results = await burst(g, [k.body.key], 50);
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    expect(new Set(refused.map((r) => r.code))).toEqual(new Set(["budget_exceeded"]));
    expect(Number(refused[0]?.retryAfter)).toBeGreaterThan(0); // until the next UTC day
    // Strict mode: the refused calls never reached the upstream.
    expect(fake.chatRequests).toHaveLength(10);
    const spent = await spentTotal(`limits:key:${k.body.id}`);
    expect(spent).toBe(BigInt(10 * PER_CALL_PUSD));
    expect(spent).toBeLessThanOrEqual(588_000_000n);
    // One more is still refused, before the upstream.
    const again = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    await expectError(again, 429, "budget_exceeded");
    expect(fake.chatRequests).toHaveLength(10);
  });

  it("caps a team: two keys share the team's budget", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    const team = `team-${crypto.randomUUID()}`;
    const t = await admin(g, "PUT", `/admin/teams/${team}`, { budget: { usd: 0.000588, period: "month" } });
    expect(t.status).toBe(200);
    const a = await admin(g, "POST", "/admin/keys", { name: "a", team });
    const b = await admin(g, "POST", "/admin/keys", { name: "b", team });
    const results = await burst(g, [a.body.key, b.body.key], 50);
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.code === "budget_exceeded")).toHaveLength(40);
    expect(fake.chatRequests).toHaveLength(10);
    expect(await spentTotal(`limits:team:${team}`)).toBe(BigInt(10 * PER_CALL_PUSD));
  });

  it("refuses a budgeted key a model without a price (its cost could not be bounded)", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "b", budget: { usd: 1 } });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ ...ASK, model: "openai/gpt-unpriced" }, k.body.key),
    );
    await expectError(res, 403, "model_unpriced", "model");
  });

  it("sends a budgeted call without max_tokens upstream with the configured cap", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "b", budget: { usd: 1 } });
    const { max_tokens: _, ...noCap } = ASK;
    const res = await g.fetch("/v1/chat/completions", post(noCap, k.body.key));
    expect(res.status).toBe(200);
    expect(fake.chatRequests[0]?.body.max_completion_tokens).toBe(4096);
    expect(res.headers.get("x-sluice-budget-remaining-usd")).toMatch(/^0\.\d{6}$/);
  });
});

describe("Rate and concurrency limits", () => {
  it("allows exactly rpm requests in a minute, then 429 rate_limit_exceeded with Retry-After", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "rpm", rpm: 7, limitMode: "strict" });
    const results = await burst(g, [k.body.key], 20);
    expect(results.filter((r) => r.status === 200)).toHaveLength(7);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(13);
    expect(new Set(refused.map((r) => r.code))).toEqual(new Set(["rate_limit_exceeded"]));
    for (const r of refused) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused[0]?.retryAfter)).toBeLessThanOrEqual(60);
    expect(fake.chatRequests).toHaveLength(7);
  });

  it("splits a hot key over shards without ever exceeding the key's limit", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "hot", rpm: 10, shards: 2, limitMode: "strict" });
    const results = await burst(g, [k.body.key], 40);
    // Each shard allows 5 a minute; 40 calls spread at random reach both (a shard drawing fewer than 5 of 40
    // has a chance of about 10⁻⁷).
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(fake.chatRequests).toHaveLength(10);
    const perShard = await Promise.all(
      [0, 1].map(async (i) => (await limiterOf(`limits:key:${k.body.id}:${i}`).usage()).requestsLastMinute),
    );
    expect(perShard).toEqual([5, 5]);
  });

  it("puts OpenAI-style x-ratelimit headers on successes", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "h", rpm: 10, tpm: 1000 });
    const first = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("10");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("9");
    expect(first.headers.get("x-ratelimit-reset-requests")).toBe("1m0s");
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("1000");
    expect(first.headers.get("x-ratelimit-remaining-tokens")).toBe(String(1000 - 56));
    await g.settle();
    const second = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    expect(second.headers.get("x-ratelimit-remaining-requests")).toBe("8");
    expect(second.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+ms|\d+s|1m0s)$/);
  });

  it("counts tokens per minute: reserved estimate + max_tokens, then the real usage", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "tpm", tpm: 120 });
    // Each call reserves 56 and settles at 56: two fit in 120, the third does not.
    const a = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    const b = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    await g.settle();
    const c = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    expect([a.status, b.status]).toEqual([200, 200]);
    await expectError(c, 429, "tokens_per_minute");
    expect(Number(c.headers.get("retry-after"))).toBeGreaterThan(0);
    // A request larger than the whole allowance says so and has no Retry-After (waiting cannot help).
    const huge = await g.fetch("/v1/chat/completions", post({ ...ASK, max_tokens: 500 }, k.body.key));
    const body = await expectError(huge, 429, "tokens_per_minute");
    expect(body.error.message).toMatch(/more than the limit/);
    expect(huge.headers.get("retry-after")).toBeNull();
  });

  it("holds concurrent requests in flight to maxConcurrent", async () => {
    const fake = upstream();
    let open!: () => void;
    fake.gate = new Promise<void>((r) => {
      open = r;
    });
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "conc", maxConcurrent: 3 });
    const calls = Array.from({ length: 10 }, () => g.fetch("/v1/chat/completions", post(ASK, k.body.key)));
    // While the upstream holds every answer, three calls are in flight and the other seven are refused.
    const refused: Response[] = [];
    for (const res of calls) void res.then((r) => r.status === 429 && refused.push(r));
    for (let i = 0; i < 200 && (refused.length < 7 || fake.chatRequests.length < 10); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(refused).toHaveLength(7);
    // Overlap mode (no budget): every call started upstream alongside its check; the refused ones were aborted.
    expect(fake.chatRequests.filter((r) => !r.signal.aborted)).toHaveLength(3);
    expect(fake.chatRequests.filter((r) => r.signal.aborted)).toHaveLength(7);
    expect((await limiterOf(`limits:key:${k.body.id}`).usage()).inFlight).toBe(3);
    for (const r of refused)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("concurrency_limit");
    open();
    const done = await Promise.all(calls);
    expect(done.filter((r) => r.status === 200)).toHaveLength(3);
    await Promise.all(done.filter((r) => r.ok).map((r) => r.text()));
    await g.settle();
    // All finished: the slots are free again.
    expect((await limiterOf(`limits:key:${k.body.id}`).usage()).inFlight).toBe(0);
    fake.gate = null;
    const after = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    expect(after.status).toBe(200);
  });

  it("overlap mode: a refused call is aborted upstream and answered 429", async () => {
    const fake = upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "ov", rpm: 1, limitMode: "overlap" });
    const ok = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    // The upstream now holds its answer (until aborted): the refusal cannot come from a finished call.
    fake.delayMs = 60_000;
    const refused = await g.fetch("/v1/chat/completions", post(ASK, k.body.key));
    await expectError(refused, 429, "rate_limit_exceeded");
    // The upstream call had started alongside the check; it was aborted once the check refused.
    expect(fake.chatRequests).toHaveLength(2);
    expect(fake.chatRequests[1]?.signal.aborted).toBe(true);
  });
});

describe("Reservations", () => {
  it("releases the reservation of a stream the client aborted mid-flight", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", {
      name: "abort",
      maxConcurrent: 1,
      budget: { usd: 1, period: "total" },
    });
    const name = `limits:key:${k.body.id}`;
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "streamy/lorem", messages: ASK.messages, max_tokens: 200, stream: true }, k.body.key),
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const during = await limiterOf(name).usage();
    expect(during.inFlight).toBe(1);
    expect(BigInt(during.heldPusd)).toBeGreaterThan(0n);
    // The one slot is taken: a second call is refused.
    const blocked = await g.fetch(
      "/v1/chat/completions",
      post({ ...ASK, model: "streamy/lorem" }, k.body.key),
    );
    await expectError(blocked, 429, "concurrency_limit");
    await reader.cancel();
    await g.settle();
    const after = await limiterOf(name).usage();
    expect(after.inFlight).toBe(0);
    expect(after.heldPusd).toBe("0");
    // What streamed before the cut was settled as spend (an estimate), less than the reservation held.
    expect(BigInt(after.spentPusd.total)).toBeGreaterThan(0n);
    expect(BigInt(after.spentPusd.total)).toBeLessThan(BigInt(during.heldPusd));
    const next = await g.fetch("/v1/chat/completions", post({ ...ASK, model: "streamy/lorem" }, k.body.key));
    expect(next.status).toBe(200);
  });

  it("expires a reservation orphaned by a dead Worker when the alarm runs", async () => {
    const stub = limiterOf(`limits:key:orphan-${crypto.randomUUID()}`);
    const limits = {
      rpm: null,
      tpm: null,
      maxConcurrent: 1,
      budget: { pusd: "1000", period: "total" as const },
    };
    const ask = { id: "req-orphan", limits, tokens: 10, costPusd: 900, ttlMs: 60_000 };
    expect((await stub.acquire(ask)).ok).toBe(true);
    // Nobody settles it. Until it expires, it holds the slot and the budget.
    expect(await stub.acquire({ ...ask, id: "req-2" })).toMatchObject({
      ok: false,
      code: "concurrency_limit",
    });
    const held = () =>
      runInDurableObject(stub, (_o: Limiter, s) => s.storage.sql.exec("SELECT id FROM held").toArray());
    const alarm = () => runInDurableObject(stub, (_o: Limiter, s) => s.storage.getAlarm());
    expect(await alarm()).toBeGreaterThan(Date.now() + 55_000);
    // An early alarm keeps a live reservation and wakes again at its expiry.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await held()).toEqual([{ id: "req-orphan" }]);
    expect(await alarm()).not.toBeNull();
    // Advance the clock past the expiry inside the object, then run the alarm: the orphan is gone.
    await runInDurableObject(stub, (_o: Limiter, s) => {
      s.storage.sql.exec("UPDATE held SET expires = expires - 60000");
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await held()).toEqual([]);
    expect(await alarm()).toBeNull(); // nothing left to expire
    expect((await stub.acquire({ ...ask, id: "req-3" })).ok).toBe(true);
    // A late settlement of the orphan still counts what it cost, once.
    await stub.settle("req-orphan", 10, 50);
    await stub.settle("req-orphan", 10, 50);
    expect((await stub.usage()).spentPusd.total).toBe("50");
  });
});

describe("Key settings through the admin API", () => {
  it("updates limits with PATCH, effective at once", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "p", rpm: 1 });
    expect((await g.fetch("/v1/chat/completions", post(ASK, k.body.key))).status).toBe(200);
    await expectError(
      await g.fetch("/v1/chat/completions", post(ASK, k.body.key)),
      429,
      "rate_limit_exceeded",
    );
    const patched = await admin(g, "PATCH", `/admin/keys/${k.body.id}`, {
      rpm: 5,
      budget: { usd: 3, period: "month" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ rpm: 5, budget: { usd: 3, period: "month" }, limitMode: "strict" });
    expect((await g.fetch("/v1/chat/completions", post(ASK, k.body.key))).status).toBe(200);
    const cleared = await admin(g, "PATCH", `/admin/keys/${k.body.id}`, { rpm: null, budget: null });
    expect(cleared.body).toMatchObject({ rpm: null, budget: null, limitMode: "overlap" });
    const read = await admin(g, "GET", `/admin/keys/${k.body.id}`);
    expect(read.body).toMatchObject({ id: k.body.id, rpm: null, spend: { requests: expect.any(Number) } });
  });

  it("shows the key's spend so far from its limiter", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "s", budget: { usd: 1, period: "day" } });
    await (await g.fetch("/v1/chat/completions", post(ASK, k.body.key))).text();
    await g.settle();
    const read = await admin(g, "GET", `/admin/keys/${k.body.id}`);
    expect(read.body.limiter).toMatchObject({
      spentUsd: { day: "0.000056", month: "0.000056", total: "0.000056" },
      reservedUsd: "0",
      inFlight: 0,
    });
  });

  it("rotates the secret keeping the id; the old secret stops working", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", { name: "r" });
    const rotated = await admin(g, "POST", `/admin/keys/${k.body.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.id).toBe(k.body.id);
    expect(rotated.body.key).not.toBe(k.body.key);
    await expectError(await g.fetch("/v1/chat/completions", post(ASK, k.body.key)), 401, "invalid_api_key");
    expect((await g.fetch("/v1/chat/completions", post(ASK, rotated.body.key))).status).toBe(200);
    await admin(g, "DELETE", `/admin/keys/${k.body.id}`);
    const again = await g.fetch(`/admin/keys/${k.body.id}/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await expectError(again, 400, "invalid_request");
    await expectError(
      await g.fetch("/admin/keys/key_nope/rotate", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
      404,
      "not_found",
      "id",
    );
  });

  it("refuses bad limit settings with 400 naming the field", async () => {
    const g = gateway(CONFIG);
    const bad = async (body: unknown, param: string) => {
      const res = await g.fetch("/admin/keys", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await expectError(res, 400, "invalid_request", param);
    };
    await bad({ name: "x", rpm: 0 }, "rpm");
    await bad({ name: "x", tpm: 1.5 }, "tpm");
    await bad({ name: "x", budget: { usd: -1 } }, "budget.usd");
    await bad({ name: "x", budget: { usd: 1, period: "week" } }, "budget.period");
    await bad({ name: "x", limitMode: "fast" }, "limitMode");
    await bad({ name: "x", browser: { origins: ["https://a.example.com/path"] } }, "browser.origins[0]");
    await bad({ name: "x", browser: { origins: ["*"] } }, "browser.origins[0]");
  });

  it("refuses an expired key with 401", async () => {
    upstream();
    const g = gateway(CONFIG);
    const k = await admin(g, "POST", "/admin/keys", {
      name: "e",
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await g.fetch("/v1/chat/completions", post(ASK, k.body.key))).status).toBe(200);
    // A controlled clock, not a sleep: only Date moves, past the expiry.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 60_001);
      await expectError(await g.fetch("/v1/chat/completions", post(ASK, k.body.key)), 401, "key_expired");
    } finally {
      vi.useRealTimers();
    }
  });
});
