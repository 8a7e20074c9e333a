import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loggedCalls } from "../helpers/call-log";
import { gateway, post } from "../helpers/gateway";
import { installUpstreams, type Upstreams } from "../helpers/upstream";

const hi = [{ role: "user", content: "hi" }];
const CONFIG = {
  providers: {
    openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" },
    mistral: { type: "openai-compatible", preset: "mistral", apiKey: "ms-1" },
  },
  models: {},
};

let net: Upstreams;
let log: ReturnType<typeof spyLog>;
const spyLog = () => vi.spyOn(console, "log");
beforeEach(() => {
  net = installUpstreams();
  log = spyLog();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup() {
  const g = gateway(CONFIG, { OPENAI_API_KEY: "sk-t" });
  return { g, key: await g.createKey() };
}

/** The call records the gateway logged (`"event":"sluice.call"` lines). */
const calls = () => loggedCalls(log);

describe("usage captured for spend", () => {
  it("captures a streamed call's usage even when the client did not ask for it", async () => {
    const openai = net.add("https://api.openai.com", { apiKey: "sk-t" });
    openai.reply({ content: "a b c", usage: { prompt_tokens: 11, completion_tokens: 7 } });
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "openai/gpt-4o-mini", messages: hi, stream: true }, key),
    );
    expect(await res.text()).not.toContain('"prompt_tokens"');
    await g.settle();
    const recs = calls();
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      event: "sluice.call",
      model: "openai/gpt-4o-mini",
      provider: "openai",
      upstreamModel: "gpt-4o-mini",
      op: "chat",
      stream: true,
      status: 200,
      completed: true,
      retries: 0,
      usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 0, reasoningTokens: 0 },
    });
  });

  it("captures usage from the last chunk of a provider that always sends it (Mistral)", async () => {
    net
      .add("https://api.mistral.ai", { apiKey: "ms-1", streamUsage: "always" })
      .reply({ content: "salut", usage: { prompt_tokens: 5, completion_tokens: 2 } });
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "mistral/mistral-small", messages: hi, stream: true }, key),
    );
    await res.text();
    await g.settle();
    expect(calls()[0]).toMatchObject({
      provider: "mistral",
      completed: true,
      usage: { inputTokens: 5, outputTokens: 2 },
    });
  });

  it("captures a non-streamed call's and an embeddings call's usage", async () => {
    const openai = net.add("https://api.openai.com", { apiKey: "sk-t" });
    openai.reply({ content: "x", usage: { prompt_tokens: 3, completion_tokens: 1 } });
    const { g, key } = await setup();
    await (
      await g.fetch("/v1/chat/completions", post({ model: "openai/gpt-4o-mini", messages: hi }, key))
    ).text();
    await (
      await g.fetch("/v1/embeddings", post({ model: "openai/text-embedding-3-small", input: "hello" }, key))
    ).text();
    await g.settle();
    const [chat, emb] = calls();
    expect(chat).toMatchObject({ op: "chat", stream: false, usage: { inputTokens: 3, outputTokens: 1 } });
    expect(emb).toMatchObject({
      op: "embeddings",
      usage: { inputTokens: expect.any(Number), outputTokens: 0 },
    });
    expect((emb?.usage as { inputTokens: number } | undefined)?.inputTokens).toBeGreaterThan(0);
  });

  it("records a stream the client cut off as not completed, with the tokens that streamed estimated", async () => {
    const openai = net.add("https://api.openai.com", { apiKey: "sk-t" });
    const content = "one two three four five six seven eight nine ten eleven twelve";
    openai.reply({ content });
    const hold = openai.holdNextStream(4);
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "openai/gpt-4o-mini", messages: hi, stream: true }, key),
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let received = "";
    for (let i = 0; i < 3; i++) received += dec.decode((await reader.read()).value);
    await reader.cancel();
    hold.release();
    await g.settle();
    const streamedText = [...received.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join("");
    expect(streamedText.length).toBeGreaterThan(0);
    const rec = calls()[0] as { usage: { inputTokens: number; outputTokens: number } };
    expect(rec).toMatchObject({ stream: true, completed: false, status: 200 });
    // Input: "user" + "hi" = 6 characters at ~4 a token, plus 4 for the message; output: ~4 characters a token
    // of what streamed — at least what the client received, never more than the whole answer.
    expect(rec.usage.inputTokens).toBe(Math.ceil(6 / 4) + 4);
    expect(rec.usage.outputTokens).toBeGreaterThanOrEqual(Math.ceil(streamedText.length / 4));
    expect(rec.usage.outputTokens).toBeLessThanOrEqual(Math.ceil(content.length / 4));
  });

  it("records a failed call with the upstream's status and code and the retries made", async () => {
    net
      .add("https://api.openai.com", { apiKey: "sk-t" })
      .failNext(1, { status: 429, code: "rate_limit_exceeded" });
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "openai/gpt-4o-mini", messages: hi }, key),
    );
    expect(res.status).toBe(429);
    await g.settle();
    expect(calls()[0]).toMatchObject({
      status: 429,
      errorCode: "rate_limit_exceeded",
      usage: null,
      completed: false,
      retries: 0,
    });
  });
});
