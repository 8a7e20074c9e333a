import { afterEach, describe, expect, it, vi } from "vitest";
import type { Target } from "../../src/config/resolve";
import { configSchema, type GatewayConfig } from "../../src/config/schema";
import { formatUsd, usdRounded } from "../../src/spend/money";
import { costPicoUsd, pricesFor } from "../../src/spend/pricing";
import { gateway, post } from "../helpers/gateway";
import { installUpstreams } from "../helpers/upstream";

type Json = Record<string, unknown>;
const usage = (inputTokens: number, outputTokens: number, cached = 0, write = 0, reasoning = 0) => ({
  inputTokens,
  outputTokens,
  cachedInputTokens: cached,
  cacheWriteTokens: write,
  reasoningTokens: reasoning,
});

const cfg = (extra: Json = {}): GatewayConfig =>
  configSchema.parse({
    providers: {
      openai: { type: "openai" },
      claude: { type: "anthropic" },
      mock: { type: "mock" },
      gcp: { type: "vertex", project: "p", region: "us-east5", serviceAccount: "{}" },
    },
    ...extra,
  });
const target = (c: GatewayConfig, providerName: string, model: string): Target => ({
  providerName,
  provider: c.providers[providerName] as Target["provider"],
  model,
  weight: 1,
  path: "0",
  id: `${providerName}/${model}`,
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Pricing in integers", () => {
  it("prices each kind of token at its own rate, in pico-USD", () => {
    const p = {
      input: 400_000,
      cachedInput: 100_000,
      cacheWrite: 500_000,
      cacheWrite1h: 800_000,
      output: 1_600_000,
      reasoning: 2_000_000,
    };
    // 1000 input of which 200 cached and 100 written; 300 output of which 50 reasoning.
    expect(costPicoUsd(usage(1000, 300, 200, 100, 50), p)).toBe(
      700 * 400_000 + 200 * 100_000 + 100 * 500_000 + 250 * 1_600_000 + 50 * 2_000_000,
    );
  });

  it("formats pico-USD as an exact decimal", () => {
    expect(formatUsd(1_234_567)).toBe("0.000001234567");
    expect(formatUsd(2_500_000_000_000)).toBe("2.5");
    expect(formatUsd(0)).toBe("0");
  });

  it("takes the maintained table's prices per provider, tiers included", () => {
    const c = cfg();
    expect(pricesFor(c, target(c, "openai", "gpt-4.1-mini"), 10)).toEqual({
      input: 400_000,
      cachedInput: 100_000,
      cacheWrite: 400_000,
      cacheWrite1h: 800_000,
      output: 1_600_000,
      reasoning: 1_600_000,
    });
    expect(pricesFor(c, target(c, "claude", "claude-sonnet-4-5"), 1000)?.input).toBe(3_000_000);
    expect(pricesFor(c, target(c, "claude", "claude-sonnet-4-5"), 250_000)?.input).toBe(6_000_000);
    // Vertex: Claude at Anthropic's prices (its dated model names too), Gemini at Google's.
    expect(pricesFor(c, target(c, "gcp", "claude-sonnet-4-5@20250929"), 1000)?.input).toBe(3_000_000);
    expect(pricesFor(c, target(c, "gcp", "gemini-2.5-flash"), 1000)?.input).toBeGreaterThan(0);
  });

  it("prices 1-hour cache writes apart from 5-minute ones", () => {
    const p = { input: 3, cachedInput: 1, cacheWrite: 4, cacheWrite1h: 6, output: 15, reasoning: 15 };
    const u = { ...usage(1000, 10, 100, 300), cacheWrite1hTokens: 200 };
    expect(costPicoUsd(u, p)).toBe(600 * 3 + 100 * 1 + 100 * 4 + 200 * 6 + 10 * 15);
  });

  it("lets config prices win, and leaves an unknown model unpriced rather than free", () => {
    const c = cfg({
      pricing: { "openai/gpt-4.1-mini": { input: 1, output: 2 }, echo: { input: 0.0375, output: 0.15 } },
    });
    expect(pricesFor(c, target(c, "openai", "gpt-4.1-mini"), 10)?.input).toBe(1_000_000);
    expect(pricesFor(c, target(c, "mock", "echo"), 10)).toEqual({
      input: 37_500,
      cachedInput: 37_500,
      cacheWrite: 37_500,
      cacheWrite1h: 75_000,
      output: 150_000,
      reasoning: 150_000,
    });
    expect(pricesFor(c, target(c, "mock", "lorem"), 10)).toBeNull();
    expect(pricesFor(c, target(c, "openai", "no-such-model-xyz"), 10)).toBeNull();
  });
});

describe("x-sluice-cost-usd and the call record", () => {
  const MOCK = {
    providers: { mock: { type: "mock" } },
    pricing: { "mock/echo": { input: 2.5, output: 10 } },
  };

  it("sets the header on a priced non-streaming call, equal to the hand-computed price of its usage", async () => {
    const g = gateway(MOCK);
    const key = await g.createKey();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "mock/echo", messages: [{ role: "user", content: "price me" }] }, key),
    );
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const expected = body.usage.prompt_tokens * 2_500_000 + body.usage.completion_tokens * 10_000_000;
    expect(res.headers.get("x-sluice-cost-usd")).toBe(formatUsd(expected));
    expect(Number(res.headers.get("x-sluice-cost-usd"))).toBeGreaterThan(0);
  });

  it("leaves the header out for an unpriced model and records the cost as null, not 0", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const g = gateway(MOCK);
    const key = await g.createKey();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "mock/lorem", messages: [{ role: "user", content: "x" }] }, key),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-cost-usd")).toBeNull();
    await g.settle();
    const rec = log.mock.calls
      .map((c) => JSON.parse(String(c[0])) as Json)
      .find((r) => r.event === "sluice.call");
    expect(rec?.costPicoUsd).toBeNull();
  });

  it("records the cost of a streamed call from the usage the stream carried", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const g = gateway(MOCK);
    const key = await g.createKey();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "mock/echo", stream: true, messages: [{ role: "user", content: "stream" }] }, key),
    );
    await res.text();
    await g.settle();
    const rec = log.mock.calls
      .map((c) => JSON.parse(String(c[0])) as Json)
      .find((r) => r.event === "sluice.call") as {
      usage: { inputTokens: number; outputTokens: number };
      costPicoUsd: number;
    };
    expect(rec.costPicoUsd).toBe(rec.usage.inputTokens * 2_500_000 + rec.usage.outputTokens * 10_000_000);
  });

  it("prices an OpenAI model from the maintained table", async () => {
    const openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-o" });
    openai.reply({ content: "ok", usage: { prompt_tokens: 1000, completion_tokens: 100 } });
    const g = gateway({ providers: { openai: { type: "openai", apiKey: "env:K" } } }, { K: "sk-o" });
    const key = await g.createKey();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "openai/gpt-4.1-mini", messages: [{ role: "user", content: "x" }] }, key),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-cost-usd")).toBe(formatUsd(1000 * 400_000 + 100 * 1_600_000));
  });
});

describe("usdRounded", () => {
  it("rounds exact pico-USD half up to the asked places, past 2^53 too", () => {
    expect(usdRounded(0n, 2)).toBe("0.00");
    expect(usdRounded(4_999_999_999n, 2)).toBe("0.00");
    expect(usdRounded(5_000_000_000n, 2)).toBe("0.01");
    expect(usdRounded(12_345_678_901_234n, 2)).toBe("12.35");
    expect(usdRounded(1_234_567n, 6)).toBe("0.000001");
    expect(usdRounded(999_999_500_000n, 6)).toBe("1.000000");
    expect(usdRounded(10n ** 30n + 1n, 0)).toBe("1000000000000000000");
  });
});
