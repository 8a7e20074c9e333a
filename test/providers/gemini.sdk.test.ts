import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake, geminiConfig } from "../helpers/gemini-upstream";
import { openaiFor } from "../helpers/sdk";
import { installUpstreams } from "../helpers/upstream";

type Json = Record<string, unknown>;

const TOOL: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    },
    strict: true,
  },
};

let gemini: GeminiFake;
beforeEach(() => {
  gemini = installUpstreams().mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
  // Gemini calls the tool while no tool result is in the conversation, then answers from the result.
  gemini.reply((body) => {
    const results = (body.contents as { parts: Json[] }[])
      .flatMap((c) => c.parts)
      .filter((p) => p.functionResponse);
    if (results.length === 0) return { functionCalls: [{ name: "get_weather", args: { city: "Zürich" } }] };
    const response = (results[0]?.functionResponse as Json | undefined)?.response as Json;
    return { text: `It is ${String(response.temp)} degrees.` };
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function client() {
  const g = gateway(geminiConfig(), { GEMINI_API_KEY: GEMINI_KEY });
  return openaiFor(g, await g.createKey());
}

describe("the openai SDK against gemini through Sluice", () => {
  for (const streaming of [false, true]) {
    it(`completes a tool-calling round trip ${streaming ? "streaming" : "without streaming"}`, async () => {
      const oa = await client();
      const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Zürich?" }];
      const ask = async () =>
        streaming
          ? oa.chat.completions.stream({ model: "chat", messages, tools: [TOOL] }).finalChatCompletion()
          : oa.chat.completions.create({ model: "chat", messages, tools: [TOOL] });

      const first = await ask();
      const call = first.choices[0]?.message.tool_calls?.[0];
      expect(first.choices[0]?.finish_reason).toBe("tool_calls");
      expect(call?.type === "function" && call.function).toMatchObject({
        name: "get_weather",
        arguments: '{"city":"Zürich"}',
      });

      messages.push(first.choices[0]?.message as ChatCompletionMessageParam, {
        role: "tool",
        tool_call_id: String(call?.id),
        content: '{"temp":21}',
      });
      const second = await ask();
      expect(second.choices[0]?.message.content).toBe("It is 21 degrees.");
      expect(second.choices[0]?.finish_reason).toBe("stop");
      expect(gemini.requests.map((r) => r.method)).toEqual(
        Array(2).fill(streaming ? "streamGenerateContent" : "generateContent"),
      );
      expect((gemini.requests[1]?.body.contents as Json[] | undefined)?.[2]).toEqual({
        role: "user",
        parts: [{ functionResponse: { name: "get_weather", response: { temp: 21 } } }],
      });
    });
  }
});
