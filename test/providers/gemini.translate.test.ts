import { describe, expect, it } from "vitest";
import { toGeminiChat, toGeminiEmbed } from "../../src/providers/gemini-request";
import {
  finishReasonOf,
  fromGenerateContent,
  readGeminiError,
  usageOf,
} from "../../src/providers/gemini-response";
import { toGeminiSchema } from "../../src/providers/gemini-schema";

describe("gemini schema conversion", () => {
  it("strips the keywords Gemini rejects and upper-cases types", () => {
    expect(
      toGeminiSchema({
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        additionalProperties: false,
        properties: {
          city: { type: "string", minLength: 1, format: "uri" },
          n: { type: "integer", multipleOf: 2 },
        },
        required: ["city", "ghost"],
        strict: true,
      }),
    ).toEqual({
      type: "OBJECT",
      properties: { city: { type: "STRING", minLength: 1 }, n: { type: "INTEGER" } },
      required: ["city"],
    });
  });

  it("turns nullable type arrays, null unions, const and oneOf into Gemini's forms", () => {
    expect(toGeminiSchema({ type: ["string", "null"] })).toEqual({ type: "STRING", nullable: true });
    expect(toGeminiSchema({ anyOf: [{ type: "integer" }, { type: "null" }] })).toEqual({
      type: "INTEGER",
      nullable: true,
    });
    expect(toGeminiSchema({ const: "c" })).toEqual({ type: "STRING", enum: ["c"] });
    expect(toGeminiSchema({ oneOf: [{ type: "string" }, { type: "number" }] })).toEqual({
      anyOf: [{ type: "STRING" }, { type: "NUMBER" }],
    });
    expect(toGeminiSchema({ type: "integer", enum: [1, 2] })).toEqual({ type: "INTEGER", enum: ["1", "2"] });
  });

  it("inlines local $refs and merges allOf", () => {
    expect(
      toGeminiSchema({
        type: "object",
        $defs: { City: { type: "object", properties: { name: { type: "string" } } } },
        properties: { home: { $ref: "#/$defs/City" } },
        allOf: [{ properties: { extra: { type: "boolean" } }, required: ["extra"] }],
      }),
    ).toEqual({
      type: "OBJECT",
      properties: {
        home: { type: "OBJECT", properties: { name: { type: "STRING" } } },
        extra: { type: "BOOLEAN" },
      },
      required: ["extra"],
    });
  });

  it("stops inlining a recursive $ref at a bounded depth", () => {
    const out = JSON.stringify(
      toGeminiSchema({
        $defs: { N: { type: "object", properties: { next: { $ref: "#/$defs/N" } } } },
        $ref: "#/$defs/N",
      }),
    );
    expect(out.length).toBeLessThan(2000);
  });
});

describe("gemini request translation", () => {
  it("maps roles, merges consecutive turns and lifts system/developer into systemInstruction", () => {
    const { body, dropped } = toGeminiChat(
      {
        model: "m",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Use metric." }] },
          { role: "user", content: "Hi" },
          { role: "user", content: "There" },
          { role: "assistant", content: "Hello" },
          { role: "user", content: "Bye" },
        ],
      },
      "gemini-2.5-flash",
    );
    expect(dropped).toEqual([]);
    expect(body.systemInstruction).toEqual({ parts: [{ text: "Be brief." }, { text: "Use metric." }] });
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Hi" }, { text: "There" }] },
      { role: "model", parts: [{ text: "Hello" }] },
      { role: "user", parts: [{ text: "Bye" }] },
    ]);
  });

  it("recovers each tool result's function name from the nearest earlier call with that id", () => {
    const call = (name: string) => ({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_0", type: "function", function: { name, arguments: "{}" } }],
    });
    const { body } = toGeminiChat(
      {
        model: "m",
        messages: [
          { role: "user", content: "a" },
          call("first"),
          { role: "tool", tool_call_id: "call_0", content: "1" },
          call("second"),
          { role: "tool", tool_call_id: "call_0", content: '{"ok":true}' },
        ],
      },
      "gemini-2.5-flash",
    );
    const contents = body.contents as { parts: Record<string, unknown>[] }[];
    expect(contents[2]?.parts[0]).toEqual({ functionResponse: { name: "first", response: { output: "1" } } });
    expect(contents[4]?.parts[0]).toEqual({ functionResponse: { name: "second", response: { ok: true } } });
  });

  it("names fields without a Gemini equivalent as dropped", () => {
    const { dropped } = toGeminiChat(
      {
        model: "m",
        messages: [{ role: "user", content: "x", name: "alice" }],
        logit_bias: { "1": 2 },
        n: 2,
        temperature: 0.2,
        logprobs: null,
      },
      "gemini-2.5-flash",
    );
    expect(dropped.sort()).toEqual(["logit_bias", "messages[].name", "n"]);
  });

  it("maps reasoning_effort to a thinking budget, or a thinking level on Gemini 3", () => {
    const gen = (model: string, effort: string) =>
      toGeminiChat({ model, messages: [{ role: "user", content: "x" }], reasoning_effort: effort }, model)
        .body.generationConfig;
    expect(gen("gemini-2.5-flash", "high")).toEqual({
      thinkingConfig: { thinkingBudget: 24576, includeThoughts: true },
    });
    expect(gen("gemini-2.5-flash", "none")).toEqual({ thinkingConfig: { thinkingBudget: 0 } });
    expect(gen("gemini-3-pro-preview", "low")).toEqual({
      thinkingConfig: { thinkingLevel: "LOW", includeThoughts: true },
    });
  });

  it("refuses token-array embedding input, which Gemini cannot embed", () => {
    expect(() => toGeminiEmbed({ model: "e", input: [1, 2, 3] }, "e")).toThrow(/token-array/);
  });
});

describe("gemini response translation", () => {
  it("maps finish reasons, with safety blocks as content_filter and function calls as tool_calls", () => {
    expect(finishReasonOf("STOP", false)).toBe("stop");
    expect(finishReasonOf("STOP", true)).toBe("tool_calls");
    expect(finishReasonOf("MAX_TOKENS", true)).toBe("length");
    for (const r of ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"]) {
      expect(finishReasonOf(r, false)).toBe("content_filter");
    }
  });

  it("counts thoughts as output and tool-use prompt as input", () => {
    expect(
      usageOf({
        promptTokenCount: 100,
        candidatesTokenCount: 10,
        thoughtsTokenCount: 30,
        cachedContentTokenCount: 60,
        toolUsePromptTokenCount: 5,
        totalTokenCount: 145,
      }),
    ).toEqual({
      prompt_tokens: 105,
      completion_tokens: 40,
      total_tokens: 145,
      prompt_tokens_details: { cached_tokens: 60, cache_creation_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 30 },
    });
  });

  it("splits text, thoughts and function calls, keeping a call's thought signature in its id", () => {
    const c = fromGenerateContent(
      {
        candidates: [
          {
            content: {
              role: "model",
              parts: [
                { text: "Let me think", thought: true },
                { text: "Checking." },
                { functionCall: { name: "f", args: { a: 1 } }, thoughtSignature: "c2ln" },
                { functionCall: { name: "g", args: {} } },
              ],
            },
            finishReason: "STOP",
          },
        ],
        responseId: "r1",
        modelVersion: "gemini-2.5-flash",
      },
      "gemini-2.5-flash",
    );
    expect(c).toMatchObject({
      id: "chatcmpl-r1",
      content: "Checking.",
      reasoning: "Let me think",
      finishReason: "tool_calls",
      toolCalls: [
        { id: "call_0__thought__c2ln", name: "f", arguments: '{"a":1}' },
        { id: "call_1", name: "g", arguments: "{}" },
      ],
    });
  });

  it("reads Google's error body: status as type, ErrorInfo reason as code, field violation as param", async () => {
    const res = new Response(
      JSON.stringify({
        error: {
          code: 400,
          message: "bad",
          status: "INVALID_ARGUMENT",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.BadRequest",
              fieldViolations: [{ field: "contents" }],
            },
          ],
        },
      }),
      { status: 400 },
    );
    expect(await readGeminiError(res)).toEqual({
      message: "bad",
      type: "invalid_argument",
      code: undefined,
      param: "contents",
    });
  });
});
