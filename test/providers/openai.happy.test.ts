import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { chunksOf, type FakeUpstream, installUpstreams, readSse } from "../helpers/upstream";

const CONFIG = {
  providers: {
    openai: {
      type: "openai",
      apiKey: "env:OPENAI_API_KEY",
      organization: "org-acme",
      models: ["gpt-4o-mini"],
    },
  },
  models: { fast: { targets: [{ provider: "openai", model: "gpt-4o-mini" }] } },
};
const VARS = { OPENAI_API_KEY: "sk-test-upstream" };
const hi = [{ role: "user", content: "Say hi" }];

let openai: FakeUpstream;
beforeEach(() => {
  const net = installUpstreams();
  openai = net.add("https://api.openai.com", { apiKey: "sk-test-upstream" });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup() {
  const g = gateway(CONFIG, VARS);
  return { g, key: await g.createKey() };
}

describe("OpenAI provider: the request Sluice builds", () => {
  it("posts to api.openai.com/v1/chat/completions with the provider key, the target's model and every other field untouched", async () => {
    const { g, key } = await setup();
    const client = {
      model: "fast",
      messages: [
        { role: "developer", content: "Be terse." },
        { role: "user", content: [{ type: "text", text: "Say hi" }], name: "ann" },
      ],
      temperature: 0.2,
      seed: 7,
      metadata: { team: "search" },
      reasoning_effort: "low",
      some_future_param: { nested: [1, { deep: true }] },
      user: "u-1",
    };
    const res = await g.fetch("/v1/chat/completions", post(client, key));
    expect(res.status).toBe(200);

    expect(openai.requests).toHaveLength(1);
    const sent = openai.requests[0];
    expect(sent?.url.href).toBe("https://api.openai.com/v1/chat/completions");
    expect(sent?.method).toBe("POST");
    expect(sent?.headers.authorization).toBe("Bearer sk-test-upstream");
    expect(sent?.headers["content-type"]).toContain("application/json");
    expect(sent?.body).toEqual({ ...client, model: "gpt-4o-mini" });
    // A non-streamed call is not given stream_options (OpenAI answers 400 to that).
    expect(sent?.body).not.toHaveProperty("stream_options");
  });

  it("sends the client's own bytes, only the model swapped (and include_usage added to a stream)", async () => {
    const { g, key } = await setup();
    // Spacing, key order and an integer past 2^53 that a parse and re-serialize would each change.
    const text = `{ "messages" : [ {"role":"user","content":"Say hi"} ],\n  "trace_id": 12345678901234567891, "model": "fast" }`;
    expect((await g.fetch("/v1/chat/completions", post(text, key))).status).toBe(200);
    expect(openai.requests[0]?.raw).toBe(text.replace('"model": "fast"', '"model": "gpt-4o-mini"'));

    const streamed = `{"model":"fast", "stream": true, "messages":[{"role":"user","content":"Say hi"}]}`;
    const res = await g.fetch("/v1/chat/completions", post(streamed, key));
    await res.text();
    expect(openai.requests[1]?.raw).toBe(
      `{"stream_options":{"include_usage":true},${streamed.slice(1).replace('"fast"', '"gpt-4o-mini"')}`,
    );
  });

  it("never forwards the client's Sluice key upstream", async () => {
    const { g, key } = await setup();
    await g.fetch("/v1/chat/completions", post({ model: "fast", messages: hi }, key, { "x-api-key": key }));
    const headers = openai.requests[0]?.headers ?? {};
    expect(Object.values(headers).some((v) => v.includes(key))).toBe(false);
    expect(headers["x-api-key"]).toBeUndefined();
  });

  it("sends the configured organization as the openai-organization header", async () => {
    const { g, key } = await setup();
    await g.fetch("/v1/chat/completions", post({ model: "openai/gpt-4.1", messages: hi }, key));
    expect(openai.requests[0]?.headers["openai-organization"]).toBe("org-acme");
    expect(openai.requests[0]?.body.model).toBe("gpt-4.1");
  });

  it("returns the upstream completion as it came, with the routing headers", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "Hi!", usage: { prompt_tokens: 9, completion_tokens: 2 } });
    const res = await g.fetch("/v1/chat/completions", post({ model: "gpt-4o-mini", messages: hi }, key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("openai");
    expect(res.headers.get("x-sluice-model")).toBe("gpt-4o-mini");
    expect(res.headers.get("x-sluice-retries")).toBe("0");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "gpt-4o-mini",
      system_fingerprint: "fp_fake",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi!" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    });
  });

  it("works with the official SDK for a plain completion", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "Hello, SDK." });
    const out = await openaiFor(g, key).chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "x" }],
    });
    expect(out.choices[0]?.message.content).toBe("Hello, SDK.");
    expect(openai.requests[0]?.body.model).toBe("gpt-4o-mini");
  });
});

describe("OpenAI provider: streaming and usage", () => {
  it("asks upstream for include_usage but keeps the usage-only chunk from a client that did not ask", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "one two three", usage: { prompt_tokens: 5, completion_tokens: 3 } });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "fast", messages: hi, stream: true }, key),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");

    expect(openai.requests[0]?.body.stream).toBe(true);
    expect(openai.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    const events = await readSse(res);
    // The upstream did send the usage chunk…
    expect(openai.streams[0]?.sent.some((e) => e.includes('"choices":[]'))).toBe(true);
    // …but the client, which did not ask, does not get it.
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(chunks.some((c) => Array.isArray(c.choices) && c.choices.length === 0)).toBe(false);
    expect(chunks.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false);
    const text = chunks
      .map((c) => (c.choices as { delta: { content?: string | null } }[])[0]?.delta.content ?? "")
      .join("");
    expect(text).toBe("one two three");
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: "stop" }] });
  });

  it("gives the usage chunk, last before [DONE], to a client that asked for it", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "ok", usage: { prompt_tokens: 12, completion_tokens: 1 } });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "fast", messages: hi, stream: true, stream_options: { include_usage: true } }, key),
    );
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const last = JSON.parse(events.at(-2) as string);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 });
    expect(openai.requests[0]?.body.stream_options).toEqual({ include_usage: true });
  });

  it("keeps the client's other stream_options fields when adding include_usage", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        { model: "fast", messages: hi, stream: true, stream_options: { include_obfuscation: false } },
        key,
      ),
    );
    await res.text();
    expect(openai.requests[0]?.body.stream_options).toEqual({
      include_obfuscation: false,
      include_usage: true,
    });
  });

  it("streams to the official SDK, which sees the usage only when it asks", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "streamed words here", usage: { prompt_tokens: 4, completion_tokens: 3 } });
    const oa = openaiFor(g, key);
    let text = "";
    let usage: unknown = null;
    const stream = await oa.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("streamed words here");
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3 });
  });
});

describe("OpenAI provider: embeddings", () => {
  it("posts to /v1/embeddings with the target's model and returns the vectors and usage", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/embeddings",
      post({ model: "openai/text-embedding-3-small", input: ["a", "b"], dimensions: 4, user: "u" }, key),
    );
    expect(res.status).toBe(200);
    const sent = openai.requests[0];
    expect(sent?.url.href).toBe("https://api.openai.com/v1/embeddings");
    expect(sent?.headers.authorization).toBe("Bearer sk-test-upstream");
    expect(sent?.body).toEqual({
      model: "text-embedding-3-small",
      input: ["a", "b"],
      dimensions: 4,
      user: "u",
    });
    const body = (await res.json()) as { data: { index: number; embedding: number[] }[]; usage: unknown };
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.data[0]?.embedding).toHaveLength(4);
    expect(body.usage).toMatchObject({ prompt_tokens: expect.any(Number) });
    expect(res.headers.get("x-sluice-provider")).toBe("openai");
  });

  it("passes base64 encoding through to the SDK", async () => {
    const { g, key } = await setup();
    const out = await openaiFor(g, key).embeddings.create({
      model: "openai/text-embedding-3-small",
      input: "hello",
      dimensions: 3,
    });
    // The SDK asks for base64 and decodes it; the gateway must not alter the body either way.
    expect(openai.requests[0]?.body.encoding_format).toBe("base64");
    expect(out.data[0]?.embedding).toHaveLength(3);
    expect(out.data[0]?.embedding[0]).toBeCloseTo(0.01, 5);
  });
});
