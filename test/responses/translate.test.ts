import { afterEach, describe, expect, it, vi } from "vitest";
import { fromResponsesRequest } from "../../src/formats/responses";
import { newId, responseOfItem, toResponse, toResponsesStream } from "../../src/formats/responses-stream";
import { GatewayError } from "../../src/http/errors";
import { cachingGateway, unique } from "../cache/fixtures";
import { openaiFor } from "../helpers/sdk";

type Json = Record<string, unknown>;

afterEach(() => vi.restoreAllMocks());

const echo = fromResponsesRequest({ model: "m", input: "x" }).echo;

/** A canonical chunk stream from chunk bodies (and `[DONE]` unless `done` is false). */
function canonical(chunks: (Json | string)[], done = true): ReadableStream<Uint8Array> {
  const text =
    chunks.map((c) => `data: ${typeof c === "string" ? c : JSON.stringify(c)}\n\n`).join("") +
    (done ? "data: [DONE]\n\n" : "");
  return new Response(text).body as ReadableStream<Uint8Array>;
}

const delta = (d: Json, finish: string | null = null) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  model: "up-model",
  choices: [{ index: 0, delta: d, finish_reason: finish }],
});
const usage = {
  id: "chatcmpl-1",
  model: "up-model",
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
};

/** The Responses events written for a canonical stream: `event:` names checked against each data's `type`. */
async function eventsOf(stream: ReadableStream<Uint8Array>): Promise<Json[]> {
  const text = await new Response(stream).text();
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const [event, data] = block.split("\n");
      const json = JSON.parse(String(data).slice(6)) as Json;
      expect(event).toBe(`event: ${String(json.type)}`);
      return json;
    });
}

/** The response of the last event (response.completed, .incomplete or .failed). */
const lastResponse = (events: Json[]): Json => (events.at(-1)?.response ?? {}) as Json;

describe("canonical streams → Responses events", () => {
  it("writes reasoning as a summary, then text, then two function calls, closed in output order", async () => {
    const events = await eventsOf(
      toResponsesStream(
        canonical([
          delta({ role: "assistant", content: "" }),
          delta({ reasoning_content: "Think" }),
          delta({ reasoning_content: "ing." }),
          delta({ content: "Let me look." }),
          delta({
            tool_calls: [
              { index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } },
            ],
          }),
          delta({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
          delta({
            tool_calls: [
              { index: 1, id: "call_b", type: "function", function: { name: "g", arguments: "{}" } },
            ],
          }),
          delta({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
          delta({}, "tool_calls"),
          usage,
        ]),
        echo,
      ),
    );
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = lastResponse(events);
    expect(completed).toMatchObject({ status: "completed", model: "up-model", usage: { total_tokens: 5 } });
    expect((completed.output as Json[]).map((o) => [o.type, o.summary ?? o.content ?? o.arguments])).toEqual([
      ["reasoning", [{ type: "summary_text", text: "Thinking." }]],
      ["message", [{ type: "output_text", annotations: [], text: "Let me look." }]],
      ["function_call", '{"a":1}'],
      ["function_call", "{}"],
    ]);
    const created = events[0]?.response as Json;
    expect(created.id).toBe(completed.id);
    expect(created).toMatchObject({ status: "in_progress", output: [], usage: null });
  });

  it("writes a refusal as a refusal part, and an empty answer as an empty message", async () => {
    const refused = await eventsOf(
      toResponsesStream(canonical([delta({ refusal: "No." }), delta({}, "stop")]), echo),
    );
    expect(refused.map((e) => e.type)).toContain("response.refusal.delta");
    expect(lastResponse(refused).output).toMatchObject([
      { type: "message", content: [{ type: "refusal", refusal: "No." }] },
    ]);
    const empty = await eventsOf(
      toResponsesStream(canonical([delta({ role: "assistant" }), delta({}, "stop")]), echo),
    );
    expect(lastResponse(empty).output).toMatchObject([
      { type: "message", status: "completed", content: [{ type: "output_text", text: "" }] },
    ]);
  });

  it("ends a stream cut without its end, or with an error event, in response.failed", async () => {
    const cut = await eventsOf(toResponsesStream(canonical([delta({ content: "Hel" })], false), echo));
    expect(cut.at(-1)).toMatchObject({
      type: "response.failed",
      response: { status: "failed", error: { code: "server_error" }, output: [{ status: "incomplete" }] },
    });
    const errored = await eventsOf(
      toResponsesStream(
        canonical([{ error: { message: "Slow down", type: "rate_limit_error", code: null, param: null } }]),
        echo,
      ),
    );
    expect(errored.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.failed",
    ]);
    expect(lastResponse(errored).error).toEqual({
      code: "rate_limit_exceeded",
      message: "Slow down",
    });
  });
});

describe("canonical answers → Response objects", () => {
  it("writes reasoning_content as a reasoning item and a content filter as incomplete", () => {
    const r = toResponse(
      {
        id: "chatcmpl-1",
        model: "up",
        choices: [
          {
            message: { role: "assistant", content: "Partial", reasoning_content: "Hmm" },
            finish_reason: "content_filter",
          },
        ],
      },
      echo,
    );
    expect(r).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "content_filter" },
      model: "up",
    });
    expect(r.output).toMatchObject([
      {
        type: "reasoning",
        id: expect.stringMatching(/^rs_/),
        summary: [{ type: "summary_text", text: "Hmm" }],
      },
      { type: "message", status: "incomplete", content: [{ type: "output_text", text: "Partial" }] },
    ]);
    expect(r).not.toHaveProperty("usage", expect.anything());
  });
});

describe("Responses requests → the canonical call", () => {
  it("maps tool_choice, allowed tools, json_object, reasoning effort and verbosity", () => {
    const { body, dropped } = fromResponsesRequest({
      model: "m",
      input: [
        {
          type: "message",
          role: "user",
          content: [{ type: "input_image", detail: "high", image_url: "https://x.test/a.png" }],
        },
      ],
      tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: null }],
      tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "f" }] },
      text: { format: { type: "json_object" }, verbosity: "low" },
      reasoning: { effort: "high", summary: "auto" },
      parallel_tool_calls: false,
      user: "u-1",
    });
    expect(body).toEqual({
      model: "m",
      messages: [
        {
          role: "user",
          content: [{ type: "image_url", image_url: { url: "https://x.test/a.png", detail: "high" } }],
        },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: {
        type: "allowed_tools",
        allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "f" } }] },
      },
      response_format: { type: "json_object" },
      verbosity: "low",
      reasoning_effort: "high",
      parallel_tool_calls: false,
      user: "u-1",
    });
    expect(dropped).toEqual(["reasoning.summary"]);
  });

  it("refuses item references, hosted-tool items and a hosted tool_choice, naming them", () => {
    // Refused outright, or (hosted-tool items, a forced hosted tool) refused by every target that translates.
    const refused = (json: Json) => {
      try {
        const e = fromResponsesRequest(json).untranslatable;
        return e ? [e.code, e.param] : null;
      } catch (e) {
        if (e instanceof GatewayError) return [e.code, e.param];
      }
      return null;
    };
    expect(refused({ model: "m", input: [{ type: "item_reference", id: "msg_1" }] })).toEqual([
      "unsupported_parameter",
      "input[0]",
    ]);
    expect(
      refused({ model: "m", input: [{ type: "web_search_call", id: "ws_1", status: "completed" }] }),
    ).toEqual(["unsupported_parameter", "input[0].type"]);
    expect(refused({ model: "m", input: "x", tool_choice: { type: "file_search" } })).toEqual([
      "unsupported_parameter",
      "tool_choice",
    ]);
    expect(refused({ model: "m", input: "x", conversation: "conv_1" })).toEqual([
      "unsupported_parameter",
      "conversation",
    ]);
    expect(refused({ model: "m", input: [{ type: "function_call_output", output: "x" }] })).toEqual([
      "invalid_request",
      "input[0].call_id",
    ]);
  });
});

describe("output item ids", () => {
  it("makes each output item's id from its response's id, so a reference finds the response", async () => {
    const r = toResponse(
      {
        model: "m",
        choices: [
          {
            message: {
              content: "Looking.",
              tool_calls: [{ id: "c1", function: { name: "f", arguments: "{}" } }],
            },
            finish_reason: "tool_calls",
          },
        ],
      },
      echo,
    );
    const ids = (r.output as Json[]).map((o) => String(o.id));
    expect(ids).toEqual([expect.stringMatching(/^msg_[0-9a-f]{52}$/), expect.stringMatching(/^fc_/)]);
    expect(ids.map(responseOfItem)).toEqual([r.id, r.id]);
    const events = await eventsOf(toResponsesStream(canonical([delta({ content: "Hi" }), usage]), echo));
    const streamed = lastResponse(events);
    expect(((streamed.output as Json[])[0] as Json).id).toMatch(/^msg_/);
    expect(responseOfItem(String(((streamed.output as Json[])[0] as Json).id))).toBe(streamed.id);
    expect(responseOfItem(newId("msg"))).toBeNull();
    expect(responseOfItem("msg_1")).toBeNull();
  });
});

describe("the response cache, answering in the Responses format", () => {
  it("serves a repeated request from the cache, as JSON and replayed as an event stream", async () => {
    const { g, openai } = cachingGateway();
    const oa = openaiFor(g, await g.createKey());
    const input = unique("Capital of Portugal?");
    const first = await oa.responses.create({ model: "faq", input, max_output_tokens: 50 }).withResponse();
    const second = await oa.responses.create({ model: "faq", input, max_output_tokens: 50 }).withResponse();
    expect([first, second].map((r) => r.response.headers.get("x-sluice-cache"))).toEqual(["MISS", "HIT"]);
    expect(second.data.output_text).toBe(first.data.output_text);
    expect(second.data.id).not.toBe(first.data.id);
    const replayed = await oa.responses
      .stream({ model: "faq", input, max_output_tokens: 50 })
      .finalResponse();
    expect(replayed.output_text).toBe(`Answer to: ${input}`);
    expect(replayed.usage?.output_tokens).toBe(5);
    expect(openai.chatRequests).toHaveLength(1);
    await g.settle();
  });
});
