import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake, geminiConfig } from "../helpers/gemini-upstream";
import { installUpstreams } from "../helpers/upstream";

type Json = Record<string, unknown>;

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { city: { type: "string" }, unit: { type: ["string", "null"], enum: ["c", "f", null] } },
      required: ["city"],
      additionalProperties: false,
    },
    strict: true,
  },
};
const NOW = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: {} } },
};

let gemini: GeminiFake;
beforeEach(() => {
  gemini = installUpstreams().mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(provider: Json = {}) {
  const g = gateway(geminiConfig(provider), { GEMINI_API_KEY: GEMINI_KEY });
  return { g, key: await g.createKey() };
}

async function chat(body: Json, provider: Json = {}) {
  const { g, key } = await setup(provider);
  const res = await g.fetch("/v1/chat/completions", post({ model: "chat", ...body }, key));
  return { res, json: (await res.clone().json()) as Json };
}

describe("gemini chat", () => {
  it("sends a plain chat to generateContent with the key in x-goog-api-key and answers in OpenAI form", async () => {
    const { res, json } = await chat({ messages: [{ role: "user", content: "Hi" }] });
    expect(res.status).toBe(200);
    const req = gemini.requests[0];
    expect(req?.url.pathname).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(req?.headers["x-goog-api-key"]).toBe(GEMINI_KEY);
    expect(req?.body).toEqual({ contents: [{ role: "user", parts: [{ text: "Hi" }] }] });
    expect(res.headers.get("x-sluice-provider")).toBe("gemini");
    expect(json).toMatchObject({
      id: "chatcmpl-fakeResp1",
      object: "chat.completion",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hello from Gemini." }, finish_reason: "stop" },
      ],
    });
    const usage = json.usage as Json;
    expect(usage.total_tokens).toBe(Number(usage.prompt_tokens) + Number(usage.completion_tokens));
  });

  it("puts system and developer messages in systemInstruction and sampling fields in generationConfig", async () => {
    await chat({
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "Hi" },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 50,
      stop: "END",
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
    });
    const body = gemini.requests[0]?.body;
    expect(body?.systemInstruction).toEqual({ parts: [{ text: "Be terse." }] });
    expect(body?.contents).toEqual([{ role: "user", parts: [{ text: "Hi" }] }]);
    expect(body?.generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 50,
      stopSequences: ["END"],
      seed: 7,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
    });
  });

  it("declares tools with a Gemini-safe schema and forces a named tool with mode ANY", async () => {
    gemini.reply({ functionCalls: [{ name: "get_weather", args: { city: "Zürich" } }] });
    const { res, json } = await chat({
      messages: [{ role: "user", content: "Weather?" }],
      tools: [WEATHER, NOW],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    expect(res.status).toBe(200);
    const body = gemini.requests[0]?.body;
    expect(body?.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Current weather for a city",
            parameters: {
              type: "OBJECT",
              properties: {
                city: { type: "STRING" },
                unit: { type: "STRING", nullable: true, enum: ["c", "f"] },
              },
              required: ["city"],
            },
          },
          { name: "get_time" },
        ],
      },
    ]);
    expect(body?.toolConfig).toEqual({
      functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] },
    });
    expect(json.choices).toEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_0",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Zürich"}' },
            },
          ],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
    ]);
  });

  it("sends a multi-turn tool conversation: calls as functionCall, parallel results in one functionResponse turn", async () => {
    const { res } = await chat({
      messages: [
        { role: "user", content: "Weather and time?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_0",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Bern"}' },
            },
            { id: "call_1", type: "function", function: { name: "get_time", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "call_0", content: '{"temp":21}' },
        { role: "tool", tool_call_id: "call_1", content: "12:00" },
      ],
      tools: [WEATHER, NOW],
      tool_choice: "auto",
    });
    expect(res.status).toBe(200);
    const body = gemini.requests[0]?.body;
    expect(body?.contents).toEqual([
      { role: "user", parts: [{ text: "Weather and time?" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Bern" } } },
          { functionCall: { name: "get_time", args: {} } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { temp: 21 } } },
          { functionResponse: { name: "get_time", response: { output: "12:00" } } },
        ],
      },
    ]);
    expect(body?.toolConfig).toEqual({ functionCallingConfig: { mode: "AUTO" } });
  });

  it("returns a Gemini 3 thought signature inside the tool-call id and sends it back on the next turn", async () => {
    const { g, key } = await setup();
    const model = "gemini/gemini-3-pro-preview";
    gemini.replyOnce({ functionCalls: [{ name: "get_time", args: {}, thoughtSignature: "U2lnbmF0dXJl" }] });
    const first = (await (
      await g.fetch(
        "/v1/chat/completions",
        post({ model, messages: [{ role: "user", content: "Time?" }], tools: [NOW] }, key),
      )
    ).json()) as { choices: { message: Json }[] };
    const message = first.choices[0]?.message as Json & { tool_calls: { id: string }[] };
    expect(message.tool_calls[0]?.id).toBe("call_0__thought__U2lnbmF0dXJl");
    const second = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model,
          messages: [
            { role: "user", content: "Time?" },
            message,
            { role: "tool", tool_call_id: message.tool_calls[0]?.id, content: "noon" },
          ],
          tools: [NOW],
        },
        key,
      ),
    );
    expect(second.status).toBe(200);
    const parts = (gemini.requests[1]?.body.contents as { parts: Json[] }[] | undefined)?.[1]?.parts;
    expect(parts?.[0]).toEqual({
      functionCall: { name: "get_time", args: {} },
      thoughtSignature: "U2lnbmF0dXJl",
    });
  });

  it("sends images as inlineData (data: URLs) and fileData (http URLs)", async () => {
    const { res } = await chat({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.webp", detail: "low" } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(gemini.requests[0]?.body.contents).toEqual([
      {
        role: "user",
        parts: [
          { text: "Compare" },
          { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
          { fileData: { fileUri: "https://example.com/cat.webp", mimeType: "image/webp" } },
        ],
      },
    ]);
  });

  it("asks for JSON with json_object and for a converted schema with json_schema", async () => {
    gemini.reply({ text: '{"a":1}' });
    const { json } = await chat({
      messages: [{ role: "user", content: "JSON" }],
      response_format: { type: "json_object" },
    });
    expect(gemini.requests[0]?.body.generationConfig).toEqual({ responseMimeType: "application/json" });
    expect((json.choices as { message: Json }[])[0]?.message.content).toBe('{"a":1}');
    const { res } = await chat({
      messages: [{ role: "user", content: "JSON" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "r",
          strict: true,
          schema: {
            type: "object",
            properties: { a: { type: "integer" } },
            required: ["a"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(res.status).toBe(200);
    expect(gemini.requests[1]?.body.generationConfig).toEqual({
      responseMimeType: "application/json",
      responseSchema: { type: "OBJECT", properties: { a: { type: "INTEGER" } }, required: ["a"] },
    });
  });

  it("maps usage with cached and thinking tokens, and returns thoughts as reasoning_content", async () => {
    gemini.reply({
      text: "42",
      thought: "Adding up",
      usage: { prompt: 120, candidates: 3, thoughts: 50, cached: 100 },
    });
    const { json } = await chat({
      messages: [{ role: "user", content: "Sum?" }],
      reasoning_effort: "medium",
    });
    expect(gemini.requests[0]?.body.generationConfig).toEqual({
      thinkingConfig: { thinkingBudget: 8192, includeThoughts: true },
    });
    expect((json.choices as { message: Json }[])[0]?.message).toEqual({
      role: "assistant",
      content: "42",
      reasoning_content: "Adding up",
    });
    expect(json.usage).toEqual({
      prompt_tokens: 120,
      completion_tokens: 53,
      total_tokens: 173,
      prompt_tokens_details: { cached_tokens: 100, cache_creation_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 50 },
    });
  });

  it("answers a safety stop and a blocked prompt as content_filter", async () => {
    gemini.replyOnce({ finishReason: "SAFETY", text: "" });
    const stopped = await chat({ messages: [{ role: "user", content: "bad" }] });
    expect((stopped.json.choices as Json[])[0]).toMatchObject({ finish_reason: "content_filter" });
    gemini.replyOnce({ blockReason: "PROHIBITED_CONTENT" });
    const blocked = await chat({ messages: [{ role: "user", content: "worse" }] });
    expect(blocked.res.status).toBe(200);
    expect((blocked.json.choices as Json[])[0]).toMatchObject({
      finish_reason: "content_filter",
      message: { role: "assistant", content: null },
    });
  });

  it("names dropped fields in x-sluice-dropped-params, or refuses them with 400 in strict mode", async () => {
    const body = { messages: [{ role: "user", content: "Hi" }], logit_bias: { "50256": -100 } };
    const { res } = await chat(body);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-dropped-params")).toBe("logit_bias");
    expect(JSON.stringify(gemini.requests[0]?.body)).not.toContain("logit");
    const strict = await chat(body, { strict: true });
    expect(strict.res.status).toBe(400);
    expect(strict.json.error).toMatchObject({ code: "unsupported_parameter", param: "logit_bias" });
    expect(gemini.requests).toHaveLength(1);
  });

  it("honours a baseUrl override", async () => {
    const other = installUpstreams().mount(
      "http://127.0.0.1:9999",
      new GeminiFake({ apiKey: GEMINI_KEY, basePath: "/proxy/v1beta" }),
    );
    const { res } = await chat(
      { messages: [{ role: "user", content: "Hi" }] },
      { baseUrl: "http://127.0.0.1:9999/proxy/v1beta/" },
    );
    expect(res.status).toBe(200);
    expect(other.requests[0]?.url.pathname).toBe("/proxy/v1beta/models/gemini-2.5-flash:generateContent");
  });
});
