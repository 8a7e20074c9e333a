import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { BASE, gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";
import { flushSpend, getWith, newKey } from "../spend/ledger-helpers";
import { LISBON_TOOL_TURNS, WEATHER } from "./fixtures";

type Json = Record<string, unknown>;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The OpenAI SDK against Sluice, with a strict OpenAI fake behind the alias `fast` (and an Anthropic one behind `claude`). */
async function setup() {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  const openai = net.add("https://api.openai.com", { apiKey: "sk-openai" });
  const claude = net.mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-up"));
  const g = gateway(
    {
      providers: {
        // Translated to chat (OpenAI would take /v1/responses as it is, see passthrough.test.ts).
        openai: { type: "openai", apiKey: "env:OPENAI_API_KEY", responsesApi: false },
        anthropic: { type: "anthropic", apiKey: "sk-ant-up" },
      },
      models: {
        fast: { targets: [{ provider: "openai", model: "gpt-4.1-mini" }] },
        claude: { targets: [{ provider: "anthropic", model: "claude-sonnet-4-5" }] },
      },
    },
    { OPENAI_API_KEY: "sk-openai" },
  );
  const key = await newKey(g, { name: "responses" });
  return { g, key, openai, claude, oa: openaiFor(g, key.secret) };
}

const lastChat = (openai: FakeUpstream): Json => {
  const body = openai.chatRequests.at(-1)?.body;
  if (!body) throw new Error("the upstream got no chat request");
  return body;
};

describe("POST /v1/responses with the official OpenAI SDK", () => {
  it("answers responses.create with a Response whose output_text is the upstream's answer", async () => {
    const { g, openai, oa } = await setup();
    openai.reply({ content: "Lisbon is sunny.", usage: { prompt_tokens: 12, completion_tokens: 4 } });
    const r = await oa.responses.create({
      model: "fast",
      input: "Weather in Lisbon?",
      max_output_tokens: 50,
    });
    expect(r.object).toBe("response");
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe("completed");
    expect(r.output_text).toBe("Lisbon is sunny.");
    expect(r.output).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: "Lisbon is sunny.", annotations: [] }],
      },
    ]);
    expect(r.usage).toEqual({
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 16,
    });
    expect(r).toMatchObject({
      max_output_tokens: 50,
      previous_response_id: null,
      tools: [],
      tool_choice: "auto",
    });
    expect(lastChat(openai)).toMatchObject({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Weather in Lisbon?" }],
      max_completion_tokens: 50,
    });
    await g.settle();
  });

  it("streams an event stream the SDK reassembles, ending in response.completed with usage", async () => {
    const { g, openai, oa } = await setup();
    openai.reply({ content: "One two three four.", usage: { prompt_tokens: 9, completion_tokens: 5 } });
    const stream = oa.responses.stream({ model: "fast", input: "Count." });
    const types: string[] = [];
    const sequence: number[] = [];
    let deltas = "";
    stream.on("event", (e: ResponseStreamEvent) => {
      types.push(e.type);
      sequence.push(e.sequence_number);
    });
    stream.on("response.output_text.delta", (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe("One two three four.");
    expect(deltas).toBe("One two three four.");
    expect(final.status).toBe("completed");
    expect(final.usage?.input_tokens).toBe(9);
    expect(final.usage?.output_tokens).toBe(5);
    const collapsed = types.filter((t, i) => t !== types[i - 1]);
    expect(collapsed).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    expect(lastChat(openai)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    await g.settle();
  });

  it("completes a function-tool round trip: streamed arguments reassembled, then function_call + function_call_output sent back", async () => {
    const { g, openai, oa } = await setup();
    openai.replyOnce({
      toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' }],
    });
    const first = await oa.responses
      .stream({ model: "fast", input: "Weather in Lisbon?", tools: [WEATHER], tool_choice: "required" })
      .finalResponse();
    const call = first.output.find((o) => o.type === "function_call");
    if (call?.type !== "function_call") throw new Error("expected a function call");
    expect(call).toMatchObject({ call_id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' });
    expect(call.id).toMatch(/^fc_/);
    expect(first.tools).toEqual([WEATHER]);
    expect(lastChat(openai)).toMatchObject({
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: WEATHER.description,
            parameters: WEATHER.parameters,
            strict: true,
          },
        },
      ],
      tool_choice: "required",
    });

    openai.replyOnce({ content: "It is 21C in Lisbon." });
    const second = await oa.responses.create({
      model: "fast",
      tools: [WEATHER],
      input: [
        { role: "user", content: "Weather in Lisbon?" },
        { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: "21C, clear" },
      ],
    });
    expect(second.output_text).toBe("It is 21C in Lisbon.");
    expect(lastChat(openai).messages).toEqual(LISBON_TOOL_TURNS);
    await g.settle();
  });

  it("sends text.format json_schema as response_format and parses output_parsed with responses.parse", async () => {
    const { g, openai, oa } = await setup();
    openai.reply({ content: '{"city":"Lisbon","celsius":21}' });
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const r = await oa.responses.parse({
      model: "fast",
      input: "Weather in Lisbon as JSON",
      text: { format: zodTextFormat(Weather, "weather") },
    });
    expect(r.output_parsed).toEqual({ city: "Lisbon", celsius: 21 });
    expect(r.text?.format).toMatchObject({ type: "json_schema", name: "weather", strict: true });
    expect(lastChat(openai).response_format).toMatchObject({
      type: "json_schema",
      json_schema: {
        name: "weather",
        strict: true,
        schema: { type: "object", required: ["city", "celsius"] },
      },
    });
    await g.settle();
  });

  it("sends instructions as a leading system message and echoes them", async () => {
    const { g, openai, oa } = await setup();
    const r = await oa.responses.create({
      model: "fast",
      instructions: "Answer in one word.",
      input: [
        { role: "developer", content: "Be polite." },
        { role: "user", content: [{ type: "input_text", text: "Hi" }] },
      ],
      metadata: { feature: "greeting" },
      temperature: 0.2,
    });
    expect(r.instructions).toBe("Answer in one word.");
    expect(r.metadata).toEqual({ feature: "greeting" });
    expect(r.temperature).toBe(0.2);
    const body = lastChat(openai);
    expect(body.messages).toEqual([
      { role: "system", content: "Answer in one word." },
      { role: "developer", content: "Be polite." },
      { role: "user", content: [{ type: "text", text: "Hi" }] },
    ]);
    expect(body).toMatchObject({ temperature: 0.2 });
    expect(body).not.toHaveProperty("metadata");
    await g.settle();
  });

  it("drops a built-in tool and lists it, but refuses a tool_choice forcing it with a 400 naming it", async () => {
    const { g, key, openai, oa } = await setup();
    openai.reply({ content: "No news." });
    const res = await g.fetch(
      "/v1/responses",
      post({ model: "fast", input: "news?", tools: [WEATHER, { type: "web_search" }] }, key.secret),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-dropped-params")).toBe("tools[1]");
    expect((lastChat(openai).tools as Json[]).map((t) => (t.function as Json).name)).toEqual(["get_weather"]);
    const err = await oa.responses
      .create({
        model: "fast",
        input: "news?",
        tools: [{ type: "web_search_preview" }],
        tool_choice: { type: "web_search_preview" },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.code).toBe("unsupported_parameter");
    expect(e.param).toBe("tool_choice");
    expect(e.message).toContain("'web_search_preview'");
    expect(openai.requests).toHaveLength(1);
    await g.settle();
  });

  it("writes a spend row for the call, seen on GET /v1/spend", async () => {
    const { g, key, openai, oa } = await setup();
    openai.reply({ content: "ok", usage: { prompt_tokens: 1000, completion_tokens: 100 } });
    await oa.responses.create({ model: "fast", input: "bill me" });
    await oa.responses.stream({ model: "fast", input: "bill me, streamed" }).finalResponse();
    await g.settle();
    await flushSpend();
    const res = await getWith(g, "/v1/spend?group_by=model", key.secret);
    const spend = (await res.json()) as { total: Json; groups: Json[] };
    expect(spend.total).toMatchObject({ requests: 2, inputTokens: 2000, outputTokens: 200 });
    expect(spend.groups).toMatchObject([{ group: "fast", requests: 2 }]);
  });
});

describe("POST /v1/responses: what is refused, dropped and answered in OpenAI's shape", () => {
  it("answers an unknown parameter with a 400 unknown_parameter, as the API does", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/responses", post({ model: "fast", input: "x", n: 2 }, key.secret));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: "Unknown parameter: 'n'.",
        type: "invalid_request_error",
        code: "unknown_parameter",
        param: "n",
      },
    });
  });

  it("refuses an image by file_id, and names an invalid field", async () => {
    const { g, key } = await setup();
    const image = await g.fetch(
      "/v1/responses",
      post(
        {
          model: "fast",
          input: [{ role: "user", content: [{ type: "input_image", detail: "auto", file_id: "file-1" }] }],
        },
        key.secret,
      ),
    );
    expect(image.status).toBe(400);
    expect(await image.json()).toMatchObject({
      error: { code: "unsupported_parameter", param: "input[0].content[0].file_id" },
    });
    const bad = await g.fetch(
      "/v1/responses",
      post({ model: "fast", input: "x", temperature: 3 }, key.secret),
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_request", param: "temperature" } });
  });

  it("drops reasoning items and options it cannot carry, listing them in x-sluice-dropped-params", async () => {
    const { g, key, openai } = await setup();
    const res = await g.fetch(
      "/v1/responses",
      post(
        {
          model: "fast",
          include: ["reasoning.encrypted_content"],
          store: true,
          input: [
            { role: "user", content: "Hi" },
            { type: "reasoning", id: "rs_1", summary: [] },
            {
              type: "message",
              role: "assistant",
              content: [{ type: "output_text", text: "Hello", annotations: [] }],
            },
            { role: "user", content: "Again" },
          ],
        },
        key.secret,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-dropped-params")).toBe("input[1],include");
    expect(((await res.json()) as Json).store).toBe(true);
    expect(lastChat(openai).messages).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "Again" },
    ]);
  });

  it("answers other methods with a 405 and other paths below it with a 404, in OpenAI's shape", async () => {
    const { g, key } = await setup();
    const get = await g.fetch("/v1/responses", { headers: { authorization: `Bearer ${key.secret}` } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const retrieve = await getWith(g, "/v1/responses/resp_1/cancel", key.secret);
    expect(retrieve.status).toBe(404);
    expect(await retrieve.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("marks a length cut incomplete with incomplete_details max_output_tokens", async () => {
    const { g, openai, oa } = await setup();
    openai.reply({ content: "Sluice is", finishReason: "length" });
    const r = await oa.responses.create({ model: "fast", input: "Long story", max_output_tokens: 2 });
    expect(r.status).toBe("incomplete");
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(r.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    const streamed = await oa.responses.stream({ model: "fast", input: "Long story" }).finalResponse();
    expect(streamed.status).toBe("incomplete");
    expect(streamed.output_text).toBe("Sluice is");
    await g.settle();
  });
});

describe("POST /v1/responses to an Anthropic target, through the canonical form", () => {
  it("answers and streams in the Responses format, with instructions as Claude's system prompt", async () => {
    const { g, claude, oa } = await setup();
    claude.reply({ text: "Hello from Claude" });
    const r = await oa.responses.create({
      model: "claude",
      instructions: "Be brief.",
      input: "Hi",
      max_output_tokens: 64,
    });
    expect(r.output_text).toBe("Hello from Claude");
    expect(claude.requests[0]?.body).toMatchObject({
      max_tokens: 64,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Hi" }] },
      ],
    });
    const streamed = await oa.responses
      .stream({ model: "claude", input: "Hi", max_output_tokens: 64 })
      .finalResponse();
    expect(streamed.output_text).toBe("Hello from Claude");
    expect(streamed.usage?.output_tokens).toBeGreaterThan(0);
    await g.settle();
  });

  it("ends a stream the upstream broke off with response.failed carrying the error", async () => {
    const { g, claude, oa } = await setup();
    claude.reply({
      text: "Hello there",
      midStreamError: { type: "overloaded_error", message: "Overloaded" },
    });
    const events: ResponseStreamEvent[] = [];
    const stream = await oa.responses.create({
      model: "claude",
      input: "Hi",
      max_output_tokens: 64,
      stream: true,
    });
    for await (const e of stream) events.push(e);
    const last = events.at(-1);
    if (last?.type !== "response.failed") throw new Error(`expected response.failed, got ${last?.type}`);
    expect(last.response.status).toBe("failed");
    expect(last.response.error).toMatchObject({
      code: "server_error",
      message: expect.stringContaining("Overloaded"),
    });
    expect(last.response.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    await g.settle();
  });
});

describe("POST /v1/responses through the Vercel AI SDK's default openai(model)", () => {
  it("generates and streams text (the AI SDK calls /v1/responses)", async () => {
    const { g, key, openai } = await setup();
    openai.reply({ content: "Hi from the gateway.", usage: { prompt_tokens: 7, completion_tokens: 5 } });
    const provider = createOpenAI({ baseURL: `${BASE}/v1`, apiKey: key.secret, fetch: g.call });
    const generated = await generateText({ model: provider("fast"), prompt: "Say hi" });
    expect(generated.text).toBe("Hi from the gateway.");
    expect(generated.usage.inputTokens).toBe(7);
    expect(generated.usage.outputTokens).toBe(5);
    expect(generated.finishReason).toBe("stop");

    const streamed = streamText({ model: provider("fast"), prompt: "Say hi" });
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe("Hi from the gateway.");
    expect((await streamed.usage).outputTokens).toBe(5);
    expect(await streamed.finishReason).toBe("stop");
    expect(openai.chatRequests.map((r) => r.body.stream === true)).toEqual([false, true]);
    await g.settle();
  });

  it("runs a tool loop: the second step sends the function call and its output back", async () => {
    const { g, key, openai } = await setup();
    openai.replyOnce({ toolCalls: [{ id: "call_ai1", name: "get_weather", arguments: '{"city":"Oslo"}' }] });
    openai.replyOnce({ content: "Oslo: 4C and rain." });
    const provider = createOpenAI({ baseURL: `${BASE}/v1`, apiKey: key.secret, fetch: g.call });
    const weather = tool({
      description: "Current weather for a city",
      inputSchema: jsonSchema<{ city: string }>({
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
        additionalProperties: false,
      }),
      execute: async ({ city }) => `${city}: 4C, rain`,
    });
    const result = await generateText({
      model: provider("fast"),
      prompt: "Weather in Oslo?",
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe("Oslo: 4C and rain.");
    expect(result.steps).toHaveLength(2);
    expect(lastChat(openai).messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Oslo?" }] },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_ai1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_ai1", content: "Oslo: 4C, rain" },
    ]);

    await g.settle();
  });
});
