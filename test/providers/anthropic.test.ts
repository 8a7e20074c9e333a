import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { WEATHER_TOOL } from "../helpers/fixtures";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { installUpstreams, readSse } from "../helpers/upstream";

type Json = Record<string, unknown>;
const ORIGIN = "https://api.anthropic.com";
const hi = [{ role: "user" as const, content: "hi" }];

const config = (extra: Json = {}) => ({
  providers: { claude: { type: "anthropic", apiKey: "env:ANTHROPIC_API_KEY", ...extra } },
  models: { smart: { targets: [{ provider: "claude", model: "claude-sonnet-5-5" }] } },
});

const TOOL = WEATHER_TOOL;

let claude: FakeAnthropic;
beforeEach(() => {
  claude = installUpstreams().mount(ORIGIN, new FakeAnthropic("sk-ant-test"));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(extra: Json = {}) {
  const g = gateway(config(extra), { ANTHROPIC_API_KEY: "sk-ant-test" });
  return { g, key: await g.createKey() };
}

const sent = () =>
  claude.requests[claude.requests.length - 1] as { headers: Record<string, string>; body: Json };

describe("Anthropic provider: the request Sluice builds", () => {
  it("sends a plain chat with Bearer auth, API version 2026-10-21 and the default max_tokens", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    expect(res.status).toBe(200);
    expect(sent().headers.authorization).toBe("Bearer sk-ant-test");
    expect(sent().headers["x-api-key"]).toBeUndefined();
    expect(sent().headers["anthropic-version"]).toBe("2026-10-21");
    expect(sent().body).toEqual({
      model: "claude-sonnet-5-5",
      max_tokens: 4096,
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    });
  });

  it("keeps system messages in place under 2026-10-21 and drops the sampling parameters it removed", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "smart",
          max_tokens: 50,
          temperature: 0.2,
          top_p: 0.9,
          messages: [{ role: "system", content: "Be brief." }, ...hi],
        },
        key,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-dropped-params")).toBe("temperature,top_p");
    expect(sent().body.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "hi" }] },
    ]);
    expect(sent().body.max_tokens).toBe(50);
    expect(sent().body).not.toHaveProperty("temperature");
  });

  it("hoists system messages to the top-level system field and keeps sampling under 2023-06-01 with x-api-key", async () => {
    const { g, key } = await setup({ apiVersion: "2023-06-01" });
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "smart",
          temperature: 0.2,
          messages: [
            { role: "system", content: "Be brief." },
            { role: "developer", content: "No emoji." },
            ...hi,
          ],
        },
        key,
      ),
    );
    expect(res.status).toBe(200);
    expect(sent().headers["x-api-key"]).toBe("sk-ant-test");
    expect(sent().headers.authorization).toBeUndefined();
    expect(sent().body.system).toBe("Be brief.\n\nNo emoji.");
    expect(sent().body.temperature).toBe(0.2);
    expect(res.headers.get("x-sluice-dropped-params")).toBeNull();
  });

  it("refuses a field Anthropic cannot take with a 400 in strict mode, before calling upstream", async () => {
    const { g, key } = await setup({ strict: true });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "smart", messages: hi, logprobs: true }, key),
    );
    const body = (await res.json()) as { error: Json };
    expect(res.status).toBe(400);
    expect(body.error.code).toBe("unsupported_parameter");
    expect(body.error.param).toBe("logprobs");
    expect(claude.requests).toHaveLength(0);
  });

  it("translates tools, tool_choice, a tool call and its result into tool_use and tool_result blocks", async () => {
    const { g, key } = await setup();
    const messages = [
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "toolu_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "18C" },
    ];
    const body = {
      model: "smart",
      messages,
      tools: [TOOL],
      tool_choice: "required",
      parallel_tool_calls: false,
    };
    const res = await g.fetch("/v1/chat/completions", post(body, key));
    expect(res.status).toBe(200);
    expect(sent().body.tools).toEqual([
      { name: "get_weather", description: "Weather", input_schema: TOOL.function.parameters },
    ]);
    expect(sent().body.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(sent().body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18C" }] },
    ]);
  });

  it("sends images as base64 and URL sources", async () => {
    const { g, key } = await setup();
    const content = [
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
    ];
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "smart", messages: [{ role: "user", content }] }, key),
    );
    expect(res.status).toBe(200);
    expect((sent().body.messages as Json[])[0]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
      ],
    });
  });
});

describe("Anthropic provider: answers translated back", () => {
  it("maps text, usage with cache and thinking tokens, and the stop reason", async () => {
    const { g, key } = await setup();
    claude.reply({
      text: "Bonjour",
      thinking: "The user greets me.",
      stopReason: "refusal",
      usage: {
        input_tokens: 10,
        output_tokens: 20,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 5,
        output_tokens_details: { thinking_tokens: 8 },
      },
    });
    const res = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    const body = (await res.json()) as { choices: Json[]; usage: Json };
    const choice = body.choices[0] as { message: Json; finish_reason: string };
    expect(choice.message.content).toBe("Bonjour");
    expect(choice.message.reasoning_content).toBe("The user greets me.");
    expect(choice.finish_reason).toBe("content_filter");
    expect(body.usage).toEqual({
      prompt_tokens: 115,
      completion_tokens: 20,
      total_tokens: 135,
      prompt_tokens_details: { cached_tokens: 100, cache_creation_tokens: 5 },
      completion_tokens_details: { reasoning_tokens: 8 },
    });
  });

  it("streams text and usage as OpenAI chunks, the usage chunk only when asked", async () => {
    const { g, key } = await setup();
    claude.reply({ text: "one two three" });
    const plain = await readSse(
      await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi, stream: true }, key)),
    );
    const chunks = plain
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as { choices: Json[]; usage?: Json });
    const text = chunks
      .map((c) => ((c.choices[0]?.delta as Json | undefined)?.content as string) ?? "")
      .join("");
    expect(text).toBe("one two three");
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(plain.at(-1)).toBe("[DONE]");

    const withUsage = await readSse(
      await g.fetch(
        "/v1/chat/completions",
        post({ model: "smart", messages: hi, stream: true, stream_options: { include_usage: true } }, key),
      ),
    );
    const last = JSON.parse(withUsage.at(-2) as string) as { choices: unknown[]; usage: Json };
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 7 });
  });

  it("lets the OpenAI SDK reassemble streamed tool calls and complete a round trip", async () => {
    const { g, key } = await setup();
    const oa = openaiFor(g, key);
    claude.reply({ toolUses: [{ id: "toolu_9", name: "get_weather", input: { city: "Zürich", days: 3 } }] });
    const stream = oa.chat.completions.stream({
      model: "smart",
      messages: [{ role: "user", content: "Weather?" }],
      tools: [TOOL],
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.id).toBe("toolu_9");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({
      city: "Zürich",
      days: 3,
    });

    claude.reply({ text: "It is sunny." });
    const answer = await oa.chat.completions.create({
      model: "smart",
      tools: [TOOL],
      messages: [
        { role: "user", content: "Weather?" },
        final.choices[0]?.message as never,
        { role: "tool", tool_call_id: "toolu_9", content: "sunny" },
      ],
    });
    expect(answer.choices[0]?.message.content).toBe("It is sunny.");
    expect((sent().body.messages as Json[])[2]).toEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "sunny" }],
    });
  });

  it("returns non-streamed tool calls with arguments as JSON text", async () => {
    const { g, key } = await setup();
    claude.reply({ toolUses: [{ id: "toolu_2", name: "get_weather", input: { city: "Oslo" } }] });
    const res = await openaiFor(g, key).chat.completions.create({
      model: "smart",
      messages: hi,
      tools: [TOOL],
    });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && call.function).toEqual({
      name: "get_weather",
      arguments: '{"city":"Oslo"}',
    });
  });
});

describe("Anthropic provider: errors", () => {
  it("keeps a 400 with Anthropic's message and type", async () => {
    const { g, key } = await setup();
    claude.failNext(400, "invalid_request_error", "prompt is too long");
    const res = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    const body = (await res.json()) as { error: Json };
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({ message: "prompt is too long", type: "invalid_request_error" });
  });

  it("answers a wrong provider key with 502 upstream_auth_failed", async () => {
    const g = gateway(config(), { ANTHROPIC_API_KEY: "sk-ant-wrong" });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "smart", messages: hi }, await g.createKey()),
    );
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: Json }).error.code).toBe("upstream_auth_failed");
  });

  it("turns 529 overloaded into a 503 and a 429 keeps its Retry-After", async () => {
    const { g, key } = await setup();
    claude.failNext(529, "overloaded_error", "Overloaded");
    const overloaded = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    expect(overloaded.status).toBe(503);
    expect(((await overloaded.json()) as { error: Json }).error.code).toBe("overloaded_error");

    claude.failNext(429, "rate_limit_error", "Slow down", { "retry-after": "7" });
    const limited = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
  });

  it("passes an in-stream error event on as an OpenAI error chunk", async () => {
    const { g, key } = await setup();
    claude.reply({
      text: "partial answer",
      midStreamError: { type: "overloaded_error", message: "Overloaded" },
    });
    const data = await readSse(
      await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi, stream: true }, key)),
    );
    const err = data.map((d) => (d === "[DONE]" ? {} : (JSON.parse(d) as Json))).find((d) => d.error) as {
      error: Json;
    };
    expect(err.error).toMatchObject({ message: "Overloaded", type: "overloaded_error" });
  });
});

describe("The Anthropic fake refuses what the Messages API refuses", () => {
  const call = (
    body: Json,
    version = "2026-10-21",
    auth: Record<string, string> = { authorization: "Bearer sk-ant-test" },
  ) =>
    claude.handle(
      new Request(`${ORIGIN}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": version, ...auth },
        body: JSON.stringify(body),
      }),
    );
  const base = { model: "claude-sonnet-5-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

  it("refuses a request without max_tokens", async () => {
    const { max_tokens: _, ...rest } = base;
    expect((await call(rest)).status).toBe(400);
  });

  it("refuses a system-role message and x-api-key auth mismatches under 2023-06-01", async () => {
    const messages = [{ role: "system", content: "x" }, ...base.messages];
    expect((await call({ ...base, messages }, "2023-06-01", { "x-api-key": "sk-ant-test" })).status).toBe(
      400,
    );
    expect((await call(base, "2023-06-01")).status).toBe(401);
    expect((await call(base, "2023-06-01", { "x-api-key": "sk-ant-test" })).status).toBe(200);
  });

  it("refuses sampling parameters under 2026-10-21 and a tool_result without its tool_use", async () => {
    expect((await call({ ...base, temperature: 1 })).status).toBe(400);
    const orphan = [{ role: "user", content: [{ type: "tool_result", tool_use_id: "x", content: "y" }] }];
    expect((await call({ ...base, messages: orphan })).status).toBe(400);
  });
});
