import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { gateway, post } from "../helpers/gateway";
import { anthropicFor } from "../helpers/sdk";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";

type Json = Record<string, unknown>;

const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

afterEach(() => {
  vi.restoreAllMocks();
});

async function mockGateway() {
  const g = gateway();
  const key = await g.createKey();
  return { g, key, sdk: anthropicFor(g, key) };
}

describe("/v1/messages with the official Anthropic SDK (API 2026-10-21, Bearer auth)", () => {
  it("completes a chat through the mock provider", async () => {
    const { sdk } = await mockGateway();
    const msg = await sdk.messages.create({
      model: "mock/echo",
      max_tokens: 100,
      system: "You are terse.",
      messages: [{ role: "user", content: "Hello" }],
    });
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.content).toEqual([{ type: "text", text: "You said: Hello" }]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens_details).toEqual({ thinking_tokens: 0 });
  });

  it("streams in Anthropic's event format, assembled by the SDK", async () => {
    const { sdk } = await mockGateway();
    const stream = sdk.messages.stream({
      model: "mock/echo",
      max_tokens: 100,
      messages: [{ role: "user", content: "stream me" }],
    });
    const names: string[] = [];
    stream.on("streamEvent", (e) => names.push(e.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: "text", text: "You said: stream me" }]);
    expect(names[0]).toBe("message_start");
    expect(names).toContain("content_block_delta");
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(final.stop_reason).toBe("end_turn");
  });

  it("completes a tool round trip, streaming and not", async () => {
    const { sdk } = await mockGateway();
    const first = await sdk.messages.create({
      model: "mock/echo",
      max_tokens: 100,
      tools: [WEATHER],
      messages: [{ role: "user", content: "Weather in Oslo?" }],
    });
    const use = first.content.find((b) => b.type === "tool_use");
    expect(first.stop_reason).toBe("tool_use");
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "example" } });

    const streamed = await sdk.messages
      .stream({
        model: "mock/echo",
        max_tokens: 100,
        tools: [WEATHER],
        messages: [{ role: "user", content: "Weather?" }],
      })
      .finalMessage();
    expect(streamed.content.find((b) => b.type === "tool_use")).toMatchObject({
      name: "get_weather",
      input: { city: "example" },
    });

    const answer = await sdk.messages.create({
      model: "mock/echo",
      max_tokens: 100,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: String((use as { id: string }).id), content: "4C, rain" },
          ],
        },
      ],
    });
    expect(answer.content).toEqual([{ type: "text", text: "The tool returned: 4C, rain" }]);
  });

  it("raises the SDK's error classes with errors in Anthropic's shape", async () => {
    const { g, sdk } = await mockGateway();
    const base = { max_tokens: 10, messages: [{ role: "user" as const, content: "x" }] };
    await expect(
      anthropicFor(g, "sk-sluice-nope").messages.create({ model: "mock/echo", ...base }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(sdk.messages.create({ model: "no-such-model", ...base })).rejects.toBeInstanceOf(
      Anthropic.NotFoundError,
    );
    await expect(sdk.messages.create({ model: "mock/fail-429", ...base })).rejects.toBeInstanceOf(
      Anthropic.RateLimitError,
    );
    const bad = await g.fetch(
      "/v1/messages",
      post({ model: "mock/echo", messages: base.messages }, await g.createKey()),
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect((await g.fetch("/v1/messages", post({}, "sk-sluice-x"))).status).toBe(401);
  });
});

describe("/v1/messages: what the canonical form cannot carry", () => {
  it("lists dropped request fields and blocks in x-sluice-dropped-params", async () => {
    const { g, key } = await mockGateway();
    const res = await g.fetch(
      "/v1/messages",
      post(
        {
          model: "mock/echo",
          max_tokens: 20,
          thinking: { type: "enabled", budget_tokens: 1024 },
          context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
          tools: [{ type: "web_search_20250305", name: "web_search" }],
          messages: [
            {
              role: "user",
              content: [
                { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" } },
                { type: "text", text: "Summarise" },
              ],
            },
          ],
        },
        key,
      ),
    );
    expect(res.status).toBe(200);
    // `thinking` translates (to reasoning_effort); the server tool is named by its index.
    expect(res.headers.get("x-sluice-dropped-params")).toBe(
      "context_management,messages[0].content[0],tools[0]",
    );
  });
});

describe("/v1/messages for clients of API 2023-06-01 (x-api-key)", () => {
  it("accepts x-api-key and answers without the 2026 usage details", async () => {
    const { g, key } = await mockGateway();
    const res = await g.fetch("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({
        model: "mock/echo",
        max_tokens: 20,
        messages: [{ role: "user", content: "old client" }],
      }),
    });
    const body = (await res.json()) as { content: Json[]; usage: Json };
    expect(res.status).toBe(200);
    expect(body.content).toEqual([{ type: "text", text: "You said: old client" }]);
    expect(body.usage).not.toHaveProperty("output_tokens_details");
  });
});

/** The Anthropic SDK against Sluice, with a strict OpenAI fake as the upstream. */
async function openaiUpstream(): Promise<{ openai: FakeUpstream; sdk: Anthropic }> {
  const openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-openai" });
  const g = gateway(
    { providers: { openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" } }, models: {} },
    { OPENAI_API_KEY: "sk-openai" },
  );
  return { openai, sdk: anthropicFor(g, await g.createKey()) };
}

describe("/v1/messages translated to other providers", () => {
  it("sends an OpenAI upstream the canonical translation of system, tools, images and tool results", async () => {
    const { openai, sdk } = await openaiUpstream();
    await sdk.messages.create({
      model: "openai/gpt-4.1",
      max_tokens: 64,
      system: "Be brief.",
      stop_sequences: ["END"],
      tools: [WEATHER],
      tool_choice: { type: "any" },
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { type: "url", url: "https://x.test/a.png" } },
          ],
        },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Rome" } }],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "hot" }] },
      ],
    });
    const body = openai.requests[0]?.body as Json;
    expect(body).toMatchObject({
      model: "gpt-4.1",
      max_tokens: 64,
      stop: ["END"],
      tool_choice: "required",
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "Current weather", parameters: WEATHER.input_schema },
        },
      ],
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "https://x.test/a.png" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "toolu_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "hot" },
      ],
    });
  });

  it("completes a tool round trip with the Anthropic SDK against an OpenAI upstream, streaming and not", async () => {
    const { openai, sdk } = await openaiUpstream();
    openai.reply((body) =>
      (body.messages as Json[]).some((m) => m.role === "tool")
        ? { content: "Sunny in Rome." }
        : { toolCalls: [{ id: "call_abc", name: "get_weather", arguments: '{"city":"Rome"}' }] },
    );
    const ask = { model: "openai/gpt-4.1", max_tokens: 64, tools: [WEATHER] };
    const streamed = await sdk.messages
      .stream({ ...ask, messages: [{ role: "user", content: "Rome?" }] })
      .finalMessage();
    expect(streamed.stop_reason).toBe("tool_use");
    expect(streamed.content).toEqual([
      { type: "tool_use", id: "call_abc", name: "get_weather", input: { city: "Rome" } },
    ]);
    expect(streamed.usage.output_tokens).toBeGreaterThan(0);

    const plain = await sdk.messages.create({ ...ask, messages: [{ role: "user", content: "Rome?" }] });
    expect(plain.content).toEqual(streamed.content);

    const answer = await sdk.messages.create({
      ...ask,
      messages: [
        { role: "user", content: "Rome?" },
        { role: "assistant", content: plain.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_abc", content: "sunny" }] },
      ],
    });
    expect(answer.content).toEqual([{ type: "text", text: "Sunny in Rome." }]);
    expect(answer.stop_reason).toBe("end_turn");
  });

  it("round-trips through an Anthropic upstream with the SDK (a passthrough), streaming tool calls included", async () => {
    const claude = installUpstreams().mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-test"));
    const g = gateway(
      { providers: { claude: { type: "anthropic", apiKey: "env:ANTHROPIC_API_KEY" } }, models: {} },
      { ANTHROPIC_API_KEY: "sk-ant-test" },
    );
    const sdk = anthropicFor(g, await g.createKey());
    claude.reply({ toolUses: [{ id: "toolu_7", name: "get_weather", input: { city: "Lima", days: 2 } }] });
    const final = await sdk.messages
      .stream({
        model: "claude/claude-sonnet-5-5",
        max_tokens: 50,
        tools: [WEATHER],
        messages: [{ role: "user", content: "Lima?" }],
      })
      .finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content).toEqual([
      { type: "tool_use", id: "toolu_7", name: "get_weather", input: { city: "Lima", days: 2 } },
    ]);
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 7 });

    claude.reply({ text: "Warm." });
    const answer = await sdk.messages.create({
      model: "claude/claude-sonnet-5-5",
      max_tokens: 50,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "Lima?" },
        { role: "assistant", content: final.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_7", content: "25C" }] },
      ],
    });
    // The upstream's answer as it came (its `citations: null` included), and the SDK's request as it was sent.
    expect(answer.content).toEqual([{ type: "text", text: "Warm.", citations: null }]);
    expect(claude.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: "Lima?" },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_7", name: "get_weather", input: { city: "Lima", days: 2 } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_7", content: "25C" }] },
    ]);
  });
});
