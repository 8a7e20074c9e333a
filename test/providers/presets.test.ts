import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PRESETS } from "../../src/providers/presets";
import { gateway, post } from "../helpers/gateway";
import { chunksOf, installUpstreams, readSse, type Upstreams } from "../helpers/upstream";

const hi = [{ role: "user", content: "hi" }];

let net: Upstreams;
beforeEach(() => {
  net = installUpstreams();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(provider: Record<string, unknown>, vars: Record<string, string> = {}) {
  const g = gateway({ providers: { p: { type: "openai-compatible", ...provider } } }, vars);
  return { g, key: await g.createKey() };
}

describe("OpenAI-compatible presets", () => {
  it.each(Object.entries(PRESETS))(
    "%s: posts to the preset's chat completions URL with a Bearer key",
    async (name, preset) => {
      const base = new URL(preset.baseUrl);
      const fake = net.add(base.origin, {
        apiKey: "pk-1",
        basePath: base.pathname,
        streamUsage: preset.streamUsage,
      });
      const { g, key } = await setup({ preset: name, apiKey: "pk-1" });
      const res = await g.fetch("/v1/chat/completions", post({ model: "p/some-model", messages: hi }, key));
      expect(res.status).toBe(200);
      expect(fake.requests[0]?.url.href).toBe(`${preset.baseUrl}/chat/completions`);
      expect(fake.requests[0]?.headers.authorization).toBe("Bearer pk-1");
      expect(fake.requests[0]?.body.model).toBe("some-model");
    },
  );

  it("groq: lives under /openai/v1 and streams with include_usage", async () => {
    const groq = net.add("https://api.groq.com", { apiKey: "gsk_1", basePath: "/openai/v1" });
    const { g, key } = await setup({ preset: "groq", apiKey: "env:GROQ_API_KEY" }, { GROQ_API_KEY: "gsk_1" });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "p/llama-3.3-70b", messages: hi, stream: true }, key),
    );
    await res.text();
    expect(groq.requests[0]?.url.pathname).toBe("/openai/v1/chat/completions");
    expect(groq.requests[0]?.body.stream_options).toEqual({ include_usage: true });
  });

  it("openrouter: sends the configured extra headers, secrets resolved from env", async () => {
    const headers = { "HTTP-Referer": "https://app.example", "X-Title": "Sluice tests" };
    const or = net.add("https://openrouter.ai", {
      apiKey: "sk-or-1",
      basePath: "/api/v1",
      requiredHeaders: headers,
    });
    const { g, key } = await setup(
      {
        preset: "openrouter",
        apiKey: "env:OPENROUTER_KEY",
        headers: { "HTTP-Referer": "https://app.example", "X-Title": "env:OR_TITLE" },
      },
      { OPENROUTER_KEY: "sk-or-1", OR_TITLE: "Sluice tests" },
    );
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "p/anthropic/claude-sonnet-4", messages: hi }, key),
    );
    expect(res.status).toBe(200);
    expect(or.requests[0]?.url.href).toBe("https://openrouter.ai/api/v1/chat/completions");
    expect(or.requests[0]?.headers["x-title"]).toBe("Sluice tests");
    // Provider model names may contain slashes: only the first one separates the provider.
    expect(or.requests[0]?.body.model).toBe("anthropic/claude-sonnet-4");
  });

  it("ollama: no key configured means no Authorization header at all", async () => {
    const ollama = net.add("http://127.0.0.1:11434");
    const { g, key } = await setup({ preset: "ollama" });
    const res = await g.fetch("/v1/chat/completions", post({ model: "p/llama3.2", messages: hi }, key));
    expect(res.status).toBe(200);
    expect(ollama.requests[0]?.url.href).toBe("http://127.0.0.1:11434/v1/chat/completions");
    expect(ollama.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("a baseUrl overrides the preset's", async () => {
    const remote = net.add("http://10.0.0.5:11434");
    const { g, key } = await setup({ preset: "ollama", baseUrl: "http://10.0.0.5:11434/v1/" });
    await g.fetch("/v1/chat/completions", post({ model: "p/llama3.2", messages: hi }, key));
    expect(remote.requests[0]?.url.href).toBe("http://10.0.0.5:11434/v1/chat/completions");
  });

  it("openai-compatible without a preset uses its baseUrl", async () => {
    const vllm = net.add("http://127.0.0.1:8000", { apiKey: "tok" });
    const { g, key } = await setup({ baseUrl: "http://127.0.0.1:8000/v1", apiKey: "tok" });
    const res = await g.fetch("/v1/embeddings", post({ model: "p/bge-m3", input: ["x"] }, key));
    expect(res.status).toBe(200);
    expect(vllm.requests[0]?.url.href).toBe("http://127.0.0.1:8000/v1/embeddings");
  });
});

describe("Mistral (usage always in the last chunk, stream_options rejected)", () => {
  async function mistral() {
    const fake = net.add("https://api.mistral.ai", { apiKey: "ms-1", streamUsage: "always" });
    const { g, key } = await setup({ preset: "mistral", apiKey: "ms-1" });
    fake.reply({ content: "Bonjour tout le monde", usage: { prompt_tokens: 6, completion_tokens: 4 } });
    return { fake, g, key };
  }

  it("streams without sending stream_options, which Mistral would refuse with a 422", async () => {
    const { fake, g, key } = await mistral();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "p/mistral-small-latest", messages: hi, stream: true }, key),
    );
    expect(res.status).toBe(200);
    expect(fake.requests[0]?.body).not.toHaveProperty("stream_options");
    const chunks = chunksOf(await readSse(res));
    const text = chunks
      .map((c) => (c.choices as { delta: { content?: string } }[])[0]?.delta.content ?? "")
      .join("");
    expect(text).toBe("Bonjour tout le monde");
  });

  it("drops a client's own stream_options too, and the client still gets the usage on the last chunk", async () => {
    const { fake, g, key } = await mistral();
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "p/mistral-small-latest",
          messages: hi,
          stream: true,
          stream_options: { include_usage: true },
        },
        key,
      ),
    );
    expect(res.status).toBe(200);
    expect(fake.requests[0]?.body).not.toHaveProperty("stream_options");
    const chunks = chunksOf(await readSse(res));
    expect(chunks.at(-1)).toMatchObject({
      choices: [{ finish_reason: "stop" }],
      usage: { prompt_tokens: 6, completion_tokens: 4 },
    });
  });

  it("the fake really refuses stream_options, as Mistral does", async () => {
    await mistral();
    const res = await fetch("https://api.mistral.ai/v1/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer ms-1", "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        messages: hi,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("Extra inputs are not permitted");
  });
});
