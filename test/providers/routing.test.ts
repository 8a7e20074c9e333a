import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cacheAffinity, rendezvousOrder } from "../../src/config/affinity";
import type { Target } from "../../src/config/resolve";
import { weightedOrder } from "../../src/routing/plan";
import { gateway, post } from "../helpers/gateway";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";

const hi = [{ role: "user", content: "hi" }];
const PROVIDERS = {
  openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" },
  groq: { type: "openai-compatible", preset: "groq", apiKey: "env:GROQ_API_KEY" },
};
const VARS = { OPENAI_API_KEY: "sk-a", GROQ_API_KEY: "gsk-b" };

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

let a: FakeUpstream;
let b: FakeUpstream;
beforeEach(() => {
  const net = installUpstreams();
  a = net.add("https://api.openai.com", { apiKey: "sk-a" });
  b = net.add("https://api.groq.com", { apiKey: "gsk-b", basePath: "/openai/v1" });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(model: Record<string, unknown>) {
  const g = gateway(
    {
      providers: PROVIDERS,
      models: {
        m: {
          targets: [
            { provider: "openai", model: "gpt-4o-mini" },
            { provider: "groq", model: "llama-3.3-70b-versatile" },
          ],
          retry: { attempts: 1, backoffMs: 0 },
          ...model,
        },
      },
    },
    VARS,
  );
  return { g, key: await g.createKey() };
}

const chat = (key: string, extra: Record<string, unknown> = {}) =>
  post({ model: "m", messages: hi, ...extra }, key);

describe("fallback", () => {
  it.each([500, 502, 503, 429])("falls back to the next target when the first answers %i", async (status) => {
    const { g, key } = await setup({});
    a.failNext(1, { status });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("groq");
    expect(res.headers.get("x-sluice-model")).toBe("llama-3.3-70b-versatile");
    expect(res.headers.get("x-sluice-retries")).toBe("1");
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
    expect(b.requests[0]?.body.model).toBe("llama-3.3-70b-versatile");
    expect(((await res.json()) as { model: string }).model).toBe("llama-3.3-70b-versatile");
  });

  it("falls back on a streamed call too, before anything is streamed", async () => {
    const { g, key } = await setup({});
    a.failNext(1, { status: 503 });
    b.reply({ content: "from groq" });
    const res = await g.fetch("/v1/chat/completions", chat(key, { stream: true }));
    expect(res.headers.get("x-sluice-provider")).toBe("groq");
    expect(await res.text()).toContain('"content":"from "');
  });

  it("retries the same target retry.attempts times before falling back", async () => {
    const { g, key } = await setup({ retry: { attempts: 3, backoffMs: 0 } });
    a.failNext(2, { status: 500 });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("openai");
    expect(res.headers.get("x-sluice-retries")).toBe("2");
    expect(a.requests).toHaveLength(3);
    expect(b.requests).toHaveLength(0);
  });

  it("moves on after retry.attempts failures at one target, counting every attempt", async () => {
    const { g, key } = await setup({ retry: { attempts: 2, backoffMs: 0 } });
    a.failNext(5, { status: 503 });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(200);
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(1);
    expect(res.headers.get("x-sluice-retries")).toBe("2");
  });

  it("waits the upstream's Retry-After before retrying the same target", async () => {
    const { g, key } = await setup({ retry: { attempts: 2, backoffMs: 0 } });
    a.failNext(1, { status: 429, retryAfter: "1" });
    const started = Date.now();
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("openai");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("does not fall back on an upstream 400: the request itself is wrong", async () => {
    const { g, key } = await setup({ retry: { attempts: 3, backoffMs: 0 } });
    a.failNext(1, {
      status: 400,
      message: "Invalid 'temperature': too high.",
      param: "temperature",
      code: "invalid_value",
    });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(body.error).toEqual({
      message: "Invalid 'temperature': too high.",
      type: "invalid_request_error",
      code: "invalid_value",
      param: "temperature",
    });
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(0);
  });

  it("reports the attempts made before a final 400 in x-sluice-retries", async () => {
    const { g, key } = await setup({});
    a.failNext(1, { status: 503 });
    b.failNext(1, { status: 400, message: "bad request at groq" });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toBe("bad request at groq");
    expect(res.headers.get("x-sluice-retries")).toBe("1");
  });

  it("keeps the last upstream's status, message, code and Retry-After when every target fails", async () => {
    const { g, key } = await setup({});
    a.failNext(1, {
      status: 429,
      message: "Rate limit reached for gpt-4o-mini",
      code: "rate_limit_exceeded",
      retryAfter: "20",
    });
    b.failNext(1, {
      status: 429,
      message: "Rate limit reached for model llama-3.3-70b-versatile",
      type: "tokens",
      code: "rate_limit_exceeded",
      retryAfter: "7",
    });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("x-sluice-retries")).toBe("1");
    expect(((await res.json()) as ErrorBody).error).toEqual({
      message: "Rate limit reached for model llama-3.3-70b-versatile",
      type: "tokens",
      code: "rate_limit_exceeded",
      param: null,
    });
  });

  it("keeps a 5xx status and message when every target fails", async () => {
    const { g, key } = await setup({});
    a.failNext(1, { status: 500, message: "The server had an error while processing your request." });
    b.failNext(1, { status: 503, message: "Service Unavailable", code: "service_unavailable" });
    const res = await g.fetch("/v1/chat/completions", chat(key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(503);
    expect(body.error.message).toBe("Service Unavailable");
    expect(body.error.code).toBe("service_unavailable");
  });
});

describe("timeouts and network failures", () => {
  it("answers 504 when the upstream does not answer within timeoutMs, and aborts the upstream request", async () => {
    const { g, key } = await setup({
      targets: [{ provider: "openai", model: "gpt-4o-mini" }],
      timeoutMs: 50,
    });
    a.delayMs = 10_000;
    const started = Date.now();
    const res = await g.fetch("/v1/chat/completions", chat(key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(504);
    expect(body.error.code).toBe("upstream_timeout");
    expect(body.error.message).toContain("50 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(a.requests[0]?.signal.aborted).toBe(true);
  });

  it("falls back to the next target after a timeout", async () => {
    const { g, key } = await setup({ timeoutMs: 50 });
    a.delayMs = 10_000;
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("groq");
    expect(res.headers.get("x-sluice-retries")).toBe("1");
  });

  it("answers 502 when the upstream cannot be reached", async () => {
    const { g, key } = await setup({ targets: [{ provider: "openai", model: "gpt-4o-mini" }] });
    a.failNext(1, "network");
    const res = await g.fetch("/v1/chat/completions", chat(key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(502);
    expect(body.error.code).toBe("upstream_unreachable");
    expect(body.error.message).toContain("'openai'");
    // The network error's own text (which may name internal hosts) is not shown.
    expect(body.error.message).not.toContain("connection refused");
  });

  it("falls back to the next target when the first cannot be reached", async () => {
    const { g, key } = await setup({});
    a.failNext(1, "network");
    const res = await g.fetch("/v1/chat/completions", chat(key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("groq");
  });
});

describe("loadbalance", () => {
  it("spreads calls over the targets by weight (the draw's random swept evenly over [0, 1))", async () => {
    const { g, key } = await setup({
      strategy: "loadbalance",
      targets: [
        { provider: "openai", model: "gpt-4o-mini", weight: 3 },
        { provider: "groq", model: "llama-3.3-70b-versatile", weight: 1 },
      ],
    });
    const random = vi.spyOn(Math, "random");
    const served: string[] = [];
    for (let i = 0; i < 40; i++) {
      // Every draw of call i is (i + 0.5) / 40: the 40 calls sweep [0, 1) evenly, so weights 3 : 1 give 30 : 10.
      random.mockReturnValue((i + 0.5) / 40);
      const res = await g.fetch("/v1/chat/completions", chat(key));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-sluice-retries")).toBe("0");
      served.push(res.headers.get("x-sluice-provider") ?? "");
      await res.text();
    }
    expect(served.filter((p) => p === "openai")).toHaveLength(30);
    expect(served.filter((p) => p === "groq")).toHaveLength(10);
    expect([a.requests.length, b.requests.length]).toEqual([30, 10]);
  });

  it("draws the first target in proportion to its weight (an injected, evenly spread random)", () => {
    const target = (model: string, weight: number) => ({ model, weight }) as unknown as Target;
    const route = (weights: [number, number, number]) => [
      target("a", weights[0]),
      target("b", weights[1]),
      target("c", weights[2]),
    ];
    const firsts = (r: Target[]) => {
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      for (let i = 0; i < 600; i++) {
        let draws = 0;
        // The first draw sweeps [0, 1) evenly; later draws (the order of the rest) are fixed.
        const order = weightedOrder(r, () => (draws++ === 0 ? (i + 0.5) / 600 : 0.5));
        counts[order[0]?.model as string] = (counts[order[0]?.model as string] ?? 0) + 1;
        expect(new Set(order.map((t) => t.model)).size).toBe(3); // every target, once
      }
      return counts;
    };
    expect(firsts(route([3, 2, 1]))).toEqual({ a: 300, b: 200, c: 100 });
    expect(firsts(route([1, 2, 3]))).toEqual({ a: 100, b: 200, c: 300 });
    expect(firsts(route([1, 0, 1]))).toEqual({ a: 300, b: 0, c: 300 });
  });

  it("still falls back to the other target when the drawn one fails", async () => {
    const { g, key } = await setup({ strategy: "loadbalance" });
    a.failNext(100, { status: 503 });
    const retries: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await g.fetch("/v1/chat/completions", chat(key));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-sluice-provider")).toBe("groq");
      retries.push(res.headers.get("x-sluice-retries") ?? "");
      await res.text();
    }
    expect(b.requests).toHaveLength(40);
    // Every call that drew openai first fell back to groq.
    expect(a.requests.length).toBeGreaterThan(0);
    expect(retries.filter((r) => r === "1")).toHaveLength(a.requests.length);
  });
});

describe("cache-aware load balancing", () => {
  it("keeps a conversation's prompt prefix on one target, and spreads prefixes by weight", () => {
    const t = (model: string, weight: number) => ({ providerName: "p", model, weight }) as unknown as Target;
    const targets = [t("a", 3), t("b", 1)];
    const order = (k: string) => rendezvousOrder(targets, (x) => `${x.providerName}/${x.model}`, k);
    const first = (k: string) => order(k)[0]?.model;
    expect(new Set(Array.from({ length: 10 }, () => first("prefix:you are a coding agent"))).size).toBe(1);
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 4000; i++) {
      const t = first(`prefix:system prompt ${i}`) as string;
      counts[t] = (counts[t] ?? 0) + 1;
    }
    const shareOfA = (counts.a ?? 0) / 4000;
    expect(shareOfA).toBeGreaterThan(0.71); // weight 3 of 4
    expect(shareOfA).toBeLessThan(0.79);
    expect(order("x")).toHaveLength(2);
  });

  it("takes the client's prompt_cache_key, else the leading system messages and the tools", () => {
    const system = [{ role: "system", content: "Be brief." }];
    expect(cacheAffinity({ prompt_cache_key: "conv-1", messages: system })).toBe("key:conv-1");
    expect(cacheAffinity({ messages: [...system, { role: "user", content: "a" }] })).toBe(
      cacheAffinity({ messages: [...system, { role: "user", content: "b" }] }),
    );
    expect(cacheAffinity({ messages: [{ role: "user", content: "a" }] })).toBeNull();
  });

  it("sends every turn of a conversation to the same target, and fails over when it fails", async () => {
    const { g, key } = await setup({ strategy: "loadbalance" });
    const turn = (n: number) =>
      chat(key, {
        messages: [
          { role: "system", content: "You are Sluice's agent." },
          { role: "user", content: `turn ${n}` },
        ],
      });
    const served = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const res = await g.fetch("/v1/chat/completions", turn(i));
      served.add(res.headers.get("x-sluice-provider") ?? "");
      await res.text();
    }
    expect(served.size).toBe(1);
    const sticky = [...served][0];
    (sticky === "openai" ? a : b).failNext(1, { status: 503 });
    const res = await g.fetch("/v1/chat/completions", turn(99));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).not.toBe(sticky);
    expect(res.headers.get("x-sluice-retries")).toBe("1");
  });
});
