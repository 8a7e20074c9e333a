import { describe, expect, it } from "vitest";
import { translateSse } from "../../src/formats/chunks";
import {
  bindingErrorStatus,
  fromWorkersAiChat,
  toWorkersAiChat,
  workersAiStream,
} from "../../src/providers/workers-ai";
import { chunksOf, readSse } from "../helpers/upstream";

type Json = Record<string, unknown>;

async function translate(sse: string): Promise<Json[]> {
  const out = translateSse(
    new Response(sse).body as ReadableStream<Uint8Array>,
    workersAiStream(),
    "c1",
    "m",
  );
  return chunksOf(await readSse(new Response(out)));
}

describe("Workers AI request translation", () => {
  it("keeps the sampling fields, renames max_completion_tokens and developer, and lists the rest as dropped", () => {
    const { inputs, dropped } = toWorkersAiChat({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 12,
      top_k: 5,
      seed: 7,
      logprobs: true,
      n: 2,
      messages: [
        { role: "developer", content: "Be terse." },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_0", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_0", content: [{ type: "text", text: "ok" }] },
      ],
    });
    expect(inputs).toEqual({
      messages: [
        { role: "system", content: "Be terse." },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "call_0", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_0", content: "ok" },
      ],
      max_tokens: 12,
      top_k: 5,
      seed: 7,
      stream: true,
    });
    expect(dropped.sort()).toEqual(["logprobs", "n"]);
  });
});

describe("Workers AI output translation", () => {
  it("reads the classic output with tool calls whose arguments are objects", () => {
    const c = fromWorkersAiChat(
      {
        response: null,
        tool_calls: [
          { name: "a", arguments: { x: 1 } },
          { name: "b", arguments: '{"y":2}' },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      },
      "m",
    );
    expect(c).toMatchObject({
      content: null,
      finishReason: "tool_calls",
      toolCalls: [
        { id: "call_0", name: "a", arguments: '{"x":1}' },
        { id: "call_1", name: "b", arguments: '{"y":2}' },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it("reads the OpenAI-shaped output newer models return, keeping their ids and finish reason", () => {
    const c = fromWorkersAiChat(
      {
        choices: [{ message: { role: "assistant", content: "cut sh" }, finish_reason: "length" }],
        usage: { prompt_tokens: 1, completion_tokens: 2 },
      },
      "m",
    );
    expect(c).toMatchObject({ content: "cut sh", finishReason: "length", toolCalls: [] });
  });

  it("streams classic and OpenAI-shaped events as text deltas, numbered tool calls, finish and usage", async () => {
    const sse = [
      'data: {"response":"Hel","p":"ab"}',
      'data: {"choices":[{"delta":{"content":"lo"}}]}',
      'data: {"response":"","tool_calls":[{"name":"a","arguments":{"x":1}}]}',
      'data: {"response":"","tool_calls":[{"name":"b","arguments":{}}]}',
      'data: {"response":"","usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}}',
      "data: [DONE]",
      "",
    ].join("\n\n");
    const chunks = await translate(sse);
    const deltas = chunks.flatMap((c) => (c.choices as Json[]).map((ch) => ch.delta as Json));
    expect(deltas.map((d) => d.content ?? "").join("")).toBe("Hello");
    const starts = deltas.flatMap((d) => (d.tool_calls as Json[] | undefined) ?? []).filter((t) => t.id);
    expect(starts.map((t) => [t.index, t.id])).toEqual([
      [0, "call_0"],
      [1, "call_1"],
    ]);
    expect(
      chunks.flatMap((c) => (c.choices as Json[]).map((ch) => ch.finish_reason)).filter(Boolean),
    ).toEqual(["tool_calls"]);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 6 } });
  });
});

describe("Workers AI binding errors", () => {
  it("takes the status from the internal code, else from the message, else 502", () => {
    expect(bindingErrorStatus("AiError: 5007: No such model @cf/x or task")).toBe(404);
    expect(bindingErrorStatus("AiError: 3040: No more data centers to forward the request to")).toBe(429);
    expect(bindingErrorStatus("3036: You have used up your daily free allocation of 10,000 neurons.")).toBe(
      429,
    );
    expect(bindingErrorStatus("AiError: 3006: Request is too large")).toBe(413);
    expect(bindingErrorStatus("AiError: 5006: Error: oneOf at '/' not met")).toBe(400);
    expect(bindingErrorStatus("Capacity temporarily exceeded")).toBe(429);
    expect(bindingErrorStatus("InferenceUpstreamError: internal error")).toBe(502);
  });
});
