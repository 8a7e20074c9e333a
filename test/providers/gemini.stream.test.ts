import { afterEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import {
  GEMINI_KEY,
  GEMINI_ORIGIN,
  GeminiFake,
  type GeminiReply,
  geminiConfig,
} from "../helpers/gemini-upstream";
import { chunksOf, installUpstreams, readSse } from "../helpers/upstream";

type Json = Record<string, unknown>;
type Chunk = { choices: { delta: Json; finish_reason: string | null }[]; usage?: Json };

afterEach(() => {
  vi.restoreAllMocks();
});

/** Streams one chat through the gateway to a Gemini fake that cuts its bytes into `chunkBytes` pieces. */
async function stream(body: Json, reply: GeminiReply, chunkBytes?: number) {
  const gemini = installUpstreams().mount(
    GEMINI_ORIGIN,
    new GeminiFake({ apiKey: GEMINI_KEY, ...(chunkBytes ? { chunkBytes } : {}) }),
  );
  gemini.reply(reply);
  const g = gateway(geminiConfig(), { GEMINI_API_KEY: GEMINI_KEY });
  const key = await g.createKey();
  const res = await g.fetch("/v1/chat/completions", post({ model: "chat", stream: true, ...body }, key));
  const events = await readSse(res);
  return { res, gemini, events, chunks: chunksOf(events) as unknown as Chunk[] };
}

const text = (chunks: Chunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");

describe("gemini streaming", () => {
  it("calls streamGenerateContent?alt=sse and streams OpenAI chunks ending in [DONE], split events and all", async () => {
    const answer = "Streams arrive a few words at a time, über alles.";
    const { res, gemini, events, chunks } = await stream(
      { messages: [{ role: "user", content: "Hi" }] },
      { text: answer },
      7,
    );
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(gemini.requests[0]?.url.pathname).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    expect(gemini.requests[0]?.url.searchParams.get("alt")).toBe("sse");
    expect(events.at(-1)).toBe("[DONE]");
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(chunks.length).toBeGreaterThan(4);
    expect(text(chunks)).toBe(answer);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    // Usage was not asked for: the usage-only chunk is stripped.
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
  });

  it("sends the usage chunk with cached and thinking tokens when asked, and thoughts as reasoning deltas", async () => {
    const { chunks } = await stream(
      { messages: [{ role: "user", content: "Sum?" }], stream_options: { include_usage: true } },
      {
        thought: "Carry the one",
        text: "42",
        usage: { prompt: 80, candidates: 2, thoughts: 20, cached: 64 },
      },
    );
    expect(chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? "").join("")).toBe("Carry the one");
    expect(text(chunks)).toBe("42");
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({
      prompt_tokens: 80,
      completion_tokens: 22,
      total_tokens: 102,
      prompt_tokens_details: { cached_tokens: 64, cache_creation_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 20 },
    });
  });

  it("streams whole function calls as a tool-call start plus its arguments, finishing with tool_calls", async () => {
    const { chunks } = await stream(
      {
        messages: [{ role: "user", content: "Weather?" }],
        tools: [
          {
            type: "function",
            function: { name: "w", parameters: { type: "object", properties: { c: { type: "string" } } } },
          },
        ],
      },
      {
        functionCalls: [
          { name: "w", args: { c: "Bern" } },
          { name: "w", args: { c: "Genf" } },
        ],
      },
    );
    const calls = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as Json[] | undefined) ?? []);
    expect(calls).toEqual([
      { index: 0, id: "call_0", type: "function", function: { name: "w", arguments: "" } },
      { index: 0, function: { arguments: '{"c":"Bern"}' } },
      { index: 1, id: "call_1", type: "function", function: { name: "w", arguments: "" } },
      { index: 1, function: { arguments: '{"c":"Genf"}' } },
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("ends a safety-stopped stream and a blocked prompt with content_filter", async () => {
    const stopped = await stream(
      { messages: [{ role: "user", content: "bad" }] },
      { text: "Well", finishReason: "SAFETY" },
    );
    expect(stopped.chunks.at(-1)?.choices[0]?.finish_reason).toBe("content_filter");
    const blocked = await stream({ messages: [{ role: "user", content: "bad" }] }, { blockReason: "SAFETY" });
    expect(blocked.chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(blocked.chunks.at(-1)?.choices[0]?.finish_reason).toBe("content_filter");
    expect(blocked.events.at(-1)).toBe("[DONE]");
  });
});
