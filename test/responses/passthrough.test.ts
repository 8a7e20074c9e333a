import type { Response as OpenAIResponse, ResponseStreamEvent } from "openai/resources/responses/responses";
import { Stream } from "openai/streaming";
import { afterEach, describe, expect, it, vi } from "vitest";
import plain from "../fixtures/codex/plain.json";
import toolDefault from "../fixtures/codex/tool.default-model.json";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { BEDROCK_ORIGIN, CREDS, FakeBedrock } from "../helpers/bedrock-upstream";
import { gateway } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake } from "../helpers/gemini-upstream";
import { FakeResponsesApi } from "../helpers/responses-upstream";
import { openaiFor } from "../helpers/sdk";
import { installUpstreams } from "../helpers/upstream";
import { flushSpend, newKey, rowsOf } from "../spend/ledger-helpers";

/**
 * `/v1/responses` to targets that serve the Responses API (OpenAI, Azure OpenAI): the client's request goes as it
 * came (the model replaced), the answer and its stream come back byte for byte, watched for usage; state chains
 * across passthrough and translated targets; built-in tools work there and are refused elsewhere.
 */

type Json = Record<string, unknown>;

afterEach(() => {
  vi.restoreAllMocks();
});

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function setup(keyBody: Json = { name: "passthrough" }) {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  const openai = net.mount("https://api.openai.com", new FakeResponsesApi("sk-openai"));
  const azure = net.mount("https://res.openai.azure.com", new FakeResponsesApi("az-key", "azure"));
  const claude = net.mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-up"));
  const g = gateway(
    {
      providers: {
        openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" },
        azure: {
          type: "azure-openai",
          baseUrl: "https://res.openai.azure.com",
          apiKey: "az-key",
          deployments: { "gpt-4.1": "prod-gpt41" },
        },
        anthropic: { type: "anthropic", apiKey: "sk-ant-up" },
      },
      models: {
        fast: { targets: [{ provider: "openai", model: "gpt-4.1-mini" }] },
        "gpt-5.1-codex": { targets: [{ provider: "openai", model: "gpt-5.1-codex" }] },
        "gpt-6.2-sol": { targets: [{ provider: "openai", model: "gpt-6.2-sol" }] },
        az: { targets: [{ provider: "azure", model: "gpt-4.1" }] },
        claude: { targets: [{ provider: "anthropic", model: "claude-sonnet-4-5" }] },
        "claude-first": {
          targets: [
            { provider: "anthropic", model: "claude-sonnet-4-5" },
            { provider: "openai", model: "gpt-4.1-mini" },
          ],
        },
        "openai-then-claude": {
          strategy: "fallback",
          targets: [
            { provider: "openai", model: "gpt-4.1-mini" },
            { provider: "anthropic", model: "claude-sonnet-4-5" },
          ],
          retry: { attempts: 1 },
        },
        cached: { targets: [{ provider: "openai", model: "gpt-4.1-mini" }], cache: { mode: "exact" } },
      },
      pricing: { "openai/gpt-4.1-mini": { input: 0.4, output: 1.6 } },
    },
    { OPENAI_API_KEY: "sk-openai" },
  );
  const key = await newKey(g, keyBody);
  return { g, key, openai, azure, claude, oa: openaiFor(g, key.secret) };
}

/** Parses a Responses stream with the openai SDK's own SSE reader. */
async function sdkEvents(res: Response): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const e of Stream.fromSSEResponse<ResponseStreamEvent>(res, new AbortController()))
    events.push(e);
  return events;
}

describe("/v1/responses passed through to OpenAI", () => {
  it("sends the SDK's request with only the model replaced, and returns OpenAI's Response as it came", async () => {
    const { g, oa, openai, key } = await setup();
    openai.replyOnce({ text: "Lisbon is sunny.", usage: { input: 20, output: 6, cached: 8 } });
    const { data, response } = await oa.responses
      .create({ model: "fast", input: "Weather in Lisbon?", max_output_tokens: 50, metadata: { a: "1" } })
      .withResponse();
    expect(data.output_text).toBe("Lisbon is sunny.");
    expect(data.model).toBe("gpt-4.1-mini");
    expect(data.id).toMatch(/^resp_[0-9a-f]{50}$/); // OpenAI's id, not one Sluice made
    expect(response.headers.get("x-sluice-provider")).toBe("openai");
    expect(response.headers.get("x-sluice-dropped-params")).toBeNull();
    // $0.40 in + $1.60 out per million: 20 × 0.4 + 6 × 1.6 = 17.6 µUSD.
    expect(response.headers.get("x-sluice-cost-usd")).toBe("0.0000176");
    const [up] = openai.requests;
    expect(up?.url.pathname).toBe("/v1/responses");
    expect(up?.headers.authorization).toBe("Bearer sk-openai");
    expect(JSON.parse(up?.raw ?? "{}")).toEqual({
      model: "gpt-4.1-mini",
      input: "Weather in Lisbon?",
      max_output_tokens: 50,
      metadata: { a: "1" },
    });
    await g.settle();
    await flushSpend();
    const [row] = await rowsOf(key.id);
    expect(row).toMatchObject({
      model: "fast",
      provider: "openai",
      upstream_model: "gpt-4.1-mini",
      status: 200,
      input_tokens: 20,
      cached_input_tokens: 8,
      output_tokens: 6,
      completed: 1,
    });
  });

  it("streams OpenAI's events byte for byte; the SDK reassembles them; usage lands in the ledger", async () => {
    const { g, openai, key } = await setup();
    openai.replyOnce({ text: "One two three.", usage: { input: 9, output: 3, reasoning: 1 } });
    const res = await g.fetch("/v1/responses", {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", input: "Count", stream: true }),
    });
    const text = await res.clone().text();
    const events = await sdkEvents(res);
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    // The upstream's own framing (`event:` lines, its sequence numbers), untouched.
    expect(text.startsWith("event: response.created\ndata: ")).toBe(true);
    const last = events.at(-1) as { response: OpenAIResponse };
    expect(last.response.output_text ?? "").toBe("");
    expect(last.response.usage?.output_tokens).toBe(3);
    await g.settle();
    await flushSpend();
    const [row] = await rowsOf(key.id);
    expect(row).toMatchObject({
      stream: 1,
      completed: 1,
      input_tokens: 9,
      output_tokens: 3,
      reasoning_tokens: 1,
    });
  });

  it("reassembles streamed function-call arguments with the SDK's stream helper", async () => {
    const { oa, openai } = await setup();
    openai.replyOnce({ call: { name: "get_weather", arguments: '{"city":"Lisbon"}', callId: "call_1" } });
    const stream = oa.responses.stream({
      model: "fast",
      input: "Weather in Lisbon?",
      tools: [
        {
          type: "function",
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          strict: false,
        },
      ],
    });
    const final = await stream.finalResponse();
    expect(final.output).toMatchObject([
      { type: "function_call", name: "get_weather", arguments: '{"city":"Lisbon"}', call_id: "call_1" },
    ]);
  });

  it("ends a stream cut before response.completed with an error event the SDK throws, recorded as cut", async () => {
    const { g, openai, key } = await setup();
    openai.cutAfter = 5;
    const res = await g.fetch("/v1/responses", {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", input: "Count", stream: true }),
    });
    const text = await res.clone().text();
    expect(text).toMatch(
      /event: error\ndata: \{"type":"error","code":"upstream_stream_cut","message":"[^"]+","param":null,"sequence_number":5\}\n\n$/,
    );
    await expect(sdkEvents(res)).rejects.toThrow(/ended before it was complete/);
    await g.settle();
    await flushSpend();
    const [row] = await rowsOf(key.id);
    expect(row).toMatchObject({ completed: 0, error_code: "upstream_stream_cut" });
  });

  it("passes built-in tools to OpenAI (web_search runs there) and refuses them on a translated target", async () => {
    const { oa, openai, claude } = await setup();
    const r = await oa.responses.create({
      model: "fast",
      input: "News today?",
      tools: [{ type: "web_search" }],
      tool_choice: "required",
    });
    expect(r.output.map((o) => o.type)).toEqual(["web_search_call", "message"]);
    expect(JSON.parse(openai.requests[0]?.raw ?? "{}").tools).toEqual([{ type: "web_search" }]);

    // Forcing it where no target serves it: a 400 naming it; the upstream is never called.
    const forced = oa.responses.create({
      model: "claude",
      input: "News today?",
      tools: [{ type: "web_search_preview" }],
      tool_choice: { type: "web_search_preview" },
    });
    await expect(forced).rejects.toMatchObject({ status: 400, param: "tool_choice" });
    // A hosted tool's item in the history: the translated target is skipped, OpenAI behind it answers.
    const history = [
      { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "news" } },
      { role: "user", content: "And now?" },
    ] as never;
    const skipped = await oa.responses.create({ model: "claude-first", input: history }).withResponse();
    expect(skipped.response.headers.get("x-sluice-provider")).toBe("openai");
    await expect(oa.responses.create({ model: "claude", input: history })).rejects.toMatchObject({
      status: 400,
      param: "input[0].type",
    });
    expect(claude.requests).toHaveLength(0);
  });

  it("passes OpenAI's errors back in OpenAI's shape (a 400 is final: no fallback)", async () => {
    const { oa, openai, claude } = await setup();
    openai.failNext(400, "Invalid value for 'text.format'.");
    await expect(oa.responses.create({ model: "openai-then-claude", input: "Hi" })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("Invalid value for 'text.format'."),
    });
    expect(claude.requests).toHaveLength(0);
    // A 5xx fails over to the translated target, which answers in the Responses format.
    openai.failNext(500, "The server had an error.");
    const r = await oa.responses.create({ model: "openai-then-claude", input: "Hi" }).withResponse();
    expect(r.response.headers.get("x-sluice-provider")).toBe("anthropic");
    expect(r.data.object).toBe("response");
  });

  it("caps a budgeted key's passthrough with max_output_tokens when the client set none", async () => {
    const { oa, openai } = await setup({ name: "budgeted", budget: { usd: 5, period: "day" } });
    await oa.responses.create({ model: "fast", input: "Hi" });
    await oa.responses.create({ model: "fast", input: "Hi", max_output_tokens: 7 });
    const [capped, own] = openai.requests.map((r) => JSON.parse(r.raw) as Json);
    expect(capped?.max_output_tokens).toBe(4096);
    expect(own?.max_output_tokens).toBe(7);
  });

  it("serves a repeated request from the cache, but never one whose canonical form leaves parts out", async () => {
    const { oa, openai } = await setup();
    const input = `Capital of Portugal? ${crypto.randomUUID()}`;
    const first = await oa.responses.create({ model: "cached", input }).withResponse();
    const second = await oa.responses.create({ model: "cached", input }).withResponse();
    expect(first.response.headers.get("x-sluice-cache")).toBe("MISS");
    expect(second.response.headers.get("x-sluice-cache")).toBe("HIT");
    expect(second.data.output_text).toBe(first.data.output_text);
    // With a built-in tool the canonical request is not the request: both go upstream.
    const withTool = { model: "cached", input, tools: [{ type: "web_search" as const }] };
    const a = await oa.responses.create(withTool).withResponse();
    const b = await oa.responses.create(withTool).withResponse();
    expect([a, b].map((x) => x.response.headers.get("x-sluice-cache"))).toEqual(["BYPASS", "BYPASS"]);
    expect(openai.requests).toHaveLength(3);
  });
});

describe("previous_response_id across passthrough and translated targets", () => {
  it("lets OpenAI resolve its own responses, and writes the conversation in for any other target", async () => {
    const { oa, openai, azure, claude } = await setup();
    openai.replyOnce({ text: "Lisbon is sunny." });
    const first = await oa.responses.create({ model: "fast", input: "Weather in Lisbon?" });
    // To OpenAI again: the client's body as it came, previous_response_id and all (OpenAI holds it).
    await oa.responses.create({ model: "fast", input: "And Porto?", previous_response_id: first.id });
    expect(JSON.parse(openai.requests[1]?.raw ?? "{}")).toEqual({
      model: "gpt-4.1-mini",
      input: "And Porto?",
      previous_response_id: first.id,
    });
    // To Azure, which serves the API but never saw OpenAI's response: the conversation written in, no id.
    await oa.responses.create({ model: "az", input: "And Porto?", previous_response_id: first.id });
    const toAzure = JSON.parse(azure.requests.at(-1)?.raw ?? "{}") as Json & { input: Json[] };
    expect(toAzure.previous_response_id).toBeUndefined();
    expect(toAzure.input.map((i) => i.role ?? i.type)).toEqual(["user", "assistant", "user"]);
    // To Anthropic: Sluice's stored copy of OpenAI's answer is the earlier turns.
    claude.reply({ text: "Porto is cloudy." });
    const second = await oa.responses.create({
      model: "claude",
      input: "And Porto?",
      previous_response_id: first.id,
    });
    const sent = claude.requests.at(-1)?.body as { messages: Json[] };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(JSON.stringify(sent.messages[1])).toContain("Lisbon is sunny.");
    // Back to OpenAI from Anthropic's answer, which OpenAI never saw: the conversation written in, no id.
    await oa.responses.create({ model: "fast", input: "Thanks", previous_response_id: second.id });
    const back = JSON.parse(openai.requests.at(-1)?.raw ?? "{}") as Json & { input: Json[] };
    expect(back.previous_response_id).toBeUndefined();
    expect(back.input.map((i) => i.role ?? i.type)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
  });

  it("does not store a store: false passthrough", async () => {
    const { oa } = await setup();
    const r = await oa.responses.create({ model: "fast", input: "Hi", store: false });
    await expect(oa.responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
    const stored = await oa.responses.create({ model: "fast", input: "Hi" });
    expect((await oa.responses.retrieve(stored.id)).output_text).toBe("Hello from openai.");
  });
});

describe("Azure OpenAI's Responses API (v1 surface)", () => {
  it("posts to /openai/v1/responses with api-key and the deployment as the model", async () => {
    const { oa, azure } = await setup();
    const r = await oa.responses.create({ model: "az", input: "Hi" });
    expect(r.output_text).toBe("Hello from azure.");
    const [up] = azure.requests;
    expect(up?.url.pathname).toBe("/openai/v1/responses");
    expect(up?.url.search).toBe("");
    expect(up?.headers["api-key"]).toBe("az-key");
    expect(up?.headers.authorization).toBeUndefined();
    expect(JSON.parse(up?.raw ?? "{}").model).toBe("prod-gpt41");
  });
});

describe("Codex's recorded requests, passed through to OpenAI", () => {
  const replay = async (g: ReturnType<typeof gateway>, secret: string, r: Recorded) => {
    const skip = new Set(["host", "content-length", "accept-encoding", "connection", "authorization"]);
    const headers = Object.entries(r.headers).filter(([k]) => !skip.has(k));
    headers.push(["authorization", `Bearer ${secret}`]);
    return g.fetch(r.path, { method: r.method, headers, body: r.body });
  };

  it("sends each recorded body unchanged and streams OpenAI's answer back for the SDK to parse", async () => {
    const { g, key, openai } = await setup();
    const recorded = [...(plain.requests as Recorded[]), ...(toolDefault.requests as Recorded[])];
    for (const r of recorded) {
      const res = await replay(g, key.secret, r);
      expect(res.headers.get("x-sluice-provider")).toBe("openai");
      const events = await sdkEvents(res);
      expect(events.at(-1)?.type).toBe("response.completed");
    }
    // The aliases name the models Codex asked for: the bodies went byte for byte, reasoning items, custom
    // tools and all (the default model's custom `exec` tool works only here).
    expect(openai.requests.map((r) => r.raw)).toEqual(recorded.map((r) => r.body));
  });
});

describe("/v1/responses translated to Gemini and Bedrock", () => {
  async function native() {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const net = installUpstreams();
    const gemini = net.mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
    const bedrock = net.mount(BEDROCK_ORIGIN, new FakeBedrock());
    const g = gateway({
      providers: {
        gemini: { type: "gemini", apiKey: GEMINI_KEY },
        aws: { type: "bedrock", region: "us-east-1", ...CREDS },
      },
      models: {
        "via-gemini": { targets: [{ provider: "gemini", model: "gemini-2.5-flash" }] },
        "via-bedrock": { targets: [{ provider: "aws", model: "anthropic.claude-sonnet-4-5-20250929-v1:0" }] },
      },
    });
    return { gemini, bedrock, oa: openaiFor(g, await g.createKey()) };
  }

  it("answers plain and streamed, and runs a function-tool round trip, on each", async () => {
    const { gemini, bedrock, oa } = await native();
    const weather = {
      type: "function" as const,
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      strict: false,
    };
    gemini.reply({ text: "Hello from Gemini" });
    for (const [model, expected] of [
      ["via-gemini", "Hello from Gemini"],
      ["via-bedrock", "Hello from Bedrock"],
    ] as const) {
      const r = await oa.responses.create({ model, input: "Hi", instructions: "Be brief." });
      expect(r.output_text).toBe(expected);
      const streamed = await oa.responses.stream({ model, input: "Hi" }).finalResponse();
      expect(streamed.output_text).toBe(expected);
    }
    expect(JSON.stringify(gemini.requests[0]?.body)).toContain("Be brief.");
    expect(JSON.stringify(bedrock.requests[0]?.body)).toContain("Be brief.");

    for (const model of ["via-gemini", "via-bedrock"]) {
      gemini.replyOnce({ functionCalls: [{ name: "get_weather", args: { city: "Lisbon" }, id: "fc-g1" }] });
      bedrock.next = { toolUses: [{ toolUseId: "tu-b1", name: "get_weather", input: { city: "Lisbon" } }] };
      const first = await oa.responses
        .stream({ model, input: "Weather in Lisbon?", tools: [weather] })
        .finalResponse();
      const call = first.output.find((o) => o.type === "function_call");
      expect(call).toMatchObject({ name: "get_weather", arguments: '{"city":"Lisbon"}' });
      if (call?.type !== "function_call") throw new Error("no function call");
      gemini.replyOnce({ text: "21C in Lisbon" });
      bedrock.next = { text: "21C in Lisbon" };
      const second = await oa.responses.create({
        model,
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: call.call_id, output: "21C, clear" }],
        tools: [weather],
      });
      expect(second.output_text).toBe("21C in Lisbon");
    }
    expect(JSON.stringify(gemini.requests.at(-1)?.body)).toContain("21C, clear");
    expect(JSON.stringify(bedrock.requests.at(-1)?.body)).toContain("21C, clear");
  });
});
