import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { chunksOf, type FakeUpstream, installUpstreams, readSse } from "../helpers/upstream";

const CONFIG = {
  providers: { openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" } },
  models: { agent: { targets: [{ provider: "openai", model: "gpt-4.1" }] } },
};

const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
        required: ["city"],
        additionalProperties: false,
      },
      strict: true,
    },
  },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
const WEATHER_ARGS = '{"city":"Zürich, CH","unit":"c","note":"a \\"quoted\\" word"}';

let openai: FakeUpstream;
beforeEach(() => {
  openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-t" });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup() {
  const g = gateway(CONFIG, { OPENAI_API_KEY: "sk-t" });
  return { g, key: await g.createKey() };
}

describe("tool calls", () => {
  it("sends tools, tool_choice and parallel_tool_calls upstream unchanged", async () => {
    const { g, key } = await setup();
    const toolChoice = { type: "function", function: { name: "get_weather" } };
    await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "agent",
          messages: [{ role: "user", content: "Weather in Zürich?" }],
          tools: TOOLS,
          tool_choice: toolChoice,
          parallel_tool_calls: false,
        },
        key,
      ),
    );
    const body = openai.requests[0]?.body;
    expect(body?.tools).toEqual(TOOLS);
    expect(body?.tool_choice).toEqual(toolChoice);
    expect(body?.parallel_tool_calls).toBe(false);
  });

  it("returns a non-streamed tool call as the upstream sent it", async () => {
    const { g, key } = await setup();
    openai.reply({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: WEATHER_ARGS }] });
    const out = await openaiFor(g, key).chat.completions.create({
      model: "agent",
      messages: [{ role: "user", content: "Weather?" }],
      tools: TOOLS as never,
    });
    const choice = out.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.tool_calls).toEqual([
      { id: "call_w1", type: "function", function: { name: "get_weather", arguments: WEATHER_ARGS } },
    ]);
  });

  it("streams tool-call deltas in pieces, which the SDK reassembles into the same arguments", async () => {
    const { g, key } = await setup();
    const timeArgs = "{}";
    openai.reply({
      toolCalls: [
        { id: "call_w1", name: "get_weather", arguments: WEATHER_ARGS },
        { id: "call_t1", name: "get_time", arguments: timeArgs },
      ],
    });
    const stream = openaiFor(g, key).chat.completions.stream({
      model: "agent",
      messages: [{ role: "user", content: "Weather and time?" }],
      tools: TOOLS as never,
    });
    const final = await stream.finalChatCompletion();
    // The arguments did travel split over several chunks.
    const argPieces = openai.streams[0]?.sent.filter(
      (e) => e.includes('"arguments":"') && !e.includes('"id":"call_'),
    );
    expect(argPieces?.length).toBeGreaterThan(3);

    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(calls.map((c) => c.id)).toEqual(["call_w1", "call_t1"]);
    const [weather, time] = calls.map((c) => (c.type === "function" ? c.function : undefined));
    expect(weather?.name).toBe("get_weather");
    expect(weather?.arguments).toBe(WEATHER_ARGS);
    expect(JSON.parse(weather?.arguments ?? "")).toEqual({
      city: "Zürich, CH",
      unit: "c",
      note: 'a "quoted" word',
    });
    expect(time).toMatchObject({ name: "get_time", arguments: timeArgs });
  });

  it("passes the raw tool-call deltas through: index, id and name first, then the argument pieces", async () => {
    const { g, key } = await setup();
    openai.reply({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: WEATHER_ARGS }] });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "agent", messages: [{ role: "user", content: "w?" }], tools: TOOLS, stream: true }, key),
    );
    const deltas = chunksOf(await readSse(res))
      .map(
        (c) =>
          (c.choices as { delta: { tool_calls?: Record<string, unknown>[] } }[])[0]?.delta.tool_calls?.[0],
      )
      .filter((d) => d !== undefined);
    expect(deltas[0]).toEqual({
      index: 0,
      id: "call_w1",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    const rest = deltas.slice(1) as { index: number; function: { arguments: string } }[];
    expect(rest.every((d) => d.index === 0 && !("id" in d))).toBe(true);
    expect(rest.map((d) => d.function.arguments).join("")).toBe(WEATHER_ARGS);
  });

  it("carries a multi-turn conversation with a tool result to the upstream, which accepts it", async () => {
    const { g, key } = await setup();
    openai.replyOnce({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Oslo"}' }] });
    openai.replyOnce({ content: "It is 3 °C in Oslo." });
    const oa = openaiFor(g, key);
    const messages: Parameters<typeof oa.chat.completions.create>[0]["messages"] = [
      { role: "user", content: "Weather in Oslo?" },
    ];
    const first = await oa.chat.completions.create({ model: "agent", messages, tools: TOOLS as never });
    const assistant = first.choices[0]?.message;
    if (!assistant) throw new Error("no message");
    messages.push({ role: "assistant", content: assistant.content, tool_calls: assistant.tool_calls });
    messages.push({ role: "tool", tool_call_id: "call_w1", content: '{"temp_c":3}' });

    const second = await oa.chat.completions.create({ model: "agent", messages, tools: TOOLS as never });
    expect(second.choices[0]?.message.content).toBe("It is 3 °C in Oslo.");
    const sent = openai.requests[1]?.body.messages as Record<string, unknown>[];
    expect(sent).toHaveLength(3);
    expect(sent[1]).toMatchObject({
      role: "assistant",
      tool_calls: [
        { id: "call_w1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
      ],
    });
    expect(sent[2]).toEqual({ role: "tool", tool_call_id: "call_w1", content: '{"temp_c":3}' });
  });

  it("returns the upstream's 400 when a tool result answers an unknown tool call", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "agent",
          messages: [
            { role: "user", content: "Weather?" },
            {
              role: "assistant",
              content: null,
              tool_calls: [
                { id: "call_a", type: "function", function: { name: "get_weather", arguments: "{}" } },
              ],
            },
            { role: "tool", tool_call_id: "call_b", content: "sunny" },
          ],
        },
        key,
      ),
    );
    const body = (await res.json()) as { error: { message: string; param: string } };
    expect(res.status).toBe(400);
    expect(body.error.message).toContain("must be a response to a preceeding message with 'tool_calls'");
    expect(body.error.param).toBe("messages.[2].role");
  });
});
