import { createAnthropic } from "@ai-sdk/anthropic";
import { generateObject } from "ai";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import plainDefault from "../fixtures/claude-code/plain.default-model.json";
import plain from "../fixtures/claude-code/plain.json";
import toolLoop from "../fixtures/claude-code/tool-loop.json";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { BEDROCK_ORIGIN, CREDS, FakeBedrock } from "../helpers/bedrock-upstream";
import { BASE, type Gateway, gateway } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake } from "../helpers/gemini-upstream";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";

/**
 * Claude Code's recorded requests (test/fixtures/claude-code) and the Vercel AI SDK's structured output,
 * through `/v1/messages` to targets that do not speak Anthropic's format: what each upstream receives of the
 * system blocks, cache markers, thinking and output format, and what the client is told was dropped.
 */

type Json = Record<string, unknown>;
interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

afterEach(() => vi.restoreAllMocks());

const BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0";
/** Headers a client's HTTP stack sets per connection (or that carry its credential): not the request's. */
const TRANSPORT = new Set(["host", "content-length", "connection", "accept-encoding", "x-api-key"]);
const DROPPED = "x-sluice-dropped-params";

interface Net {
  g: Gateway;
  key: string;
  openai: FakeUpstream;
  bedrock: FakeBedrock;
  gemini: GeminiFake;
}

/** A gateway with one alias per target kind, in front of the strict fakes of each. */
async function setup(): Promise<Net> {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  // The fake answers like OpenAI: only reasoning models take reasoning_effort.
  const openai = net.add("https://api.openai.com", { apiKey: "sk-o", reasoningModels: /^(o\d|gpt-5)/ });
  const bedrock = net.mount(BEDROCK_ORIGIN, new FakeBedrock());
  const gemini = net.mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
  const g = gateway({
    providers: {
      openai: { type: "openai", apiKey: "sk-o" },
      aws: { type: "bedrock", region: "us-east-1", ...CREDS },
      gemini: { type: "gemini", apiKey: GEMINI_KEY },
    },
    models: {
      "via-openai": { targets: [{ provider: "openai", model: "gpt-5.1" }] },
      "via-gpt-4.1": { targets: [{ provider: "openai", model: "gpt-4.1" }] },
      "via-bedrock": { targets: [{ provider: "aws", model: BEDROCK_MODEL }] },
      "via-llama": { targets: [{ provider: "aws", model: "meta.llama3-3-70b-instruct-v1:0" }] },
      "via-gemini": { targets: [{ provider: "gemini", model: "gemini-2.5-flash" }] },
    },
  });
  return { g, key: await g.createKey(), openai, bedrock, gemini };
}

/** Sends a recorded request as Claude Code sent it (its path, headers and body), but for `alias`. */
function replay(net: Net, r: Recorded, alias: string): Promise<Response> {
  const headers = Object.fromEntries(Object.entries(r.headers).filter(([h]) => !TRANSPORT.has(h)));
  return net.g.fetch(r.path, {
    method: r.method,
    headers: { ...headers, "x-api-key": net.key },
    body: JSON.stringify({ ...(JSON.parse(r.body) as Json), model: alias }),
  });
}

/** An Anthropic SSE answer assembled: its text, tool uses (input parsed from the JSON deltas), stop reason. */
async function assemble(res: Response) {
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const blocks: Json[] = [];
  const json: string[] = [];
  let stop: unknown;
  const names: string[] = [];
  for (const frame of (await res.text()).split("\n\n").filter(Boolean)) {
    const name = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
    const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "{}") as Json;
    names.push(name);
    const index = Number(data.index);
    if (name === "content_block_start") blocks[index] = { ...(data.content_block as Json) };
    const delta = (data.delta ?? {}) as Json;
    if (name === "content_block_delta" && delta.type === "text_delta") {
      (blocks[index] as Json).text = String((blocks[index] as Json).text) + String(delta.text);
    }
    if (name === "content_block_delta" && delta.type === "input_json_delta") {
      json[index] = (json[index] ?? "") + String(delta.partial_json);
    }
    if (name === "message_delta") stop = delta.stop_reason;
  }
  json.forEach((j, i) => {
    (blocks[i] as Json).input = JSON.parse(j);
  });
  expect(names[0]).toBe("message_start");
  expect(names.at(-1)).toBe("message_stop");
  return {
    text: blocks.map((b) => (b.type === "text" ? b.text : "")).join(""),
    toolUses: blocks.filter((b) => b.type === "tool_use"),
    stop,
  };
}

const request = (r: Recorded) => JSON.parse(r.body) as Json & { system: Json[]; messages: Json[] };
const plainReq = plain.requests[0] as Recorded;
const [loopFirst, loopSecond] = toolLoop.requests as unknown as [Recorded, Recorded];
const systemTexts = request(plainReq).system.map((b) => b.text);
/** The tool use the recording's first turn got, and the tool result sent back with it. */
const use = ((request(loopSecond).messages[1] as Json).content as Json[])[1] as {
  id: string;
  name: string;
  input: Json;
};
const result = ((request(loopSecond).messages[2] as Json).content as Json[])[0] as { content: string };

/** The canonical paths of plain.json's three cache markers (system blocks 2 and 3, the prompt's text block). */
const PLAIN_MARKERS = [
  "messages[0].content[1].cache_control",
  "messages[0].content[2].cache_control",
  "messages[1].content[3].cache_control",
];

describe("Claude Code's requests translated to an OpenAI-wire target", () => {
  it("keep the three system blocks as three text parts, strip the cache markers and list them, and carry thinking as reasoning_effort", async () => {
    const net = await setup();
    net.openai.reply({ content: "Hello there, friend." });
    const res = await replay(net, plainReq, "via-openai");
    expect(await assemble(res)).toMatchObject({ text: "Hello there, friend.", stop: "end_turn" });
    const sent = net.openai.chatRequests[0]?.body as Json & { messages: Json[]; tools: Json[] };
    expect(sent.messages[0]).toEqual({
      role: "system",
      content: systemTexts.map((text) => ({ type: "text", text })),
    });
    expect(sent.messages[1]?.content).toHaveLength(4);
    expect(sent.tools).toHaveLength(24);
    expect(JSON.stringify(sent)).not.toContain("cache_control");
    expect(sent).toMatchObject({
      model: "gpt-5.1",
      max_tokens: 32000,
      reasoning_effort: "high", // thinking.budget_tokens 31999
      user: (request(plainReq).metadata as Json).user_id,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get(DROPPED)).toBe(["context_management", ...PLAIN_MARKERS].join(","));
  });

  it("keep the default model's mid-conversation system message in place, and its effort as reasoning_effort", async () => {
    const net = await setup();
    const res = await replay(net, plainDefault.requests[0] as Recorded, "via-openai");
    expect((await assemble(res)).text).toBe("Hello from api.openai.com.");
    const sent = net.openai.chatRequests[0]?.body as Json & { messages: Json[] };
    const recorded = request(plainDefault.requests[0] as Recorded).messages;
    expect(sent.messages.map((m) => m.role)).toEqual(["system", "user", "system"]);
    expect(sent.messages[2]).toEqual({ role: "system", content: recorded[1]?.content });
    expect(sent.reasoning_effort).toBe("high"); // thinking adaptive, output_config.effort high
    expect(res.headers.get(DROPPED)).toBe(
      "context_management,messages[0].content[1].cache_control,messages[0].content[2].cache_control,messages[1].content[1].cache_control",
    );
  });

  it("asks a model that does not reason once more without reasoning_effort, and lists it", async () => {
    const net = await setup();
    const res = await replay(net, plainReq, "via-gpt-4.1");
    expect((await assemble(res)).text).toBe("Hello from api.openai.com.");
    expect(net.openai.chatRequests.map((r) => r.body.reasoning_effort)).toEqual(["high", undefined]);
    expect(res.headers.get(DROPPED)).toBe(
      ["context_management", ...PLAIN_MARKERS, "reasoning_effort"].join(","),
    );
  });

  it("are refused, naming the first marker, by a provider in strict mode", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-o" });
    const g = gateway({
      providers: { openai: { type: "openai", apiKey: "sk-o", strict: true } },
      models: { "via-openai": { targets: [{ provider: "openai", model: "gpt-5.1" }] } },
    });
    const res = await replay({ g, key: await g.createKey() } as Net, plainReq, "via-openai");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: expect.stringContaining("messages[0].content[1].cache_control"),
      },
    });
    expect(openai.requests).toHaveLength(0);
  });

  it("round-trip the tool loop: the tool call comes back as tool_use, its arguments and result go up as sent", async () => {
    const net = await setup();
    net.openai.replyOnce({
      toolCalls: [{ id: use.id, name: use.name, arguments: JSON.stringify(use.input) }],
    });
    const first = await assemble(await replay(net, loopFirst, "via-openai"));
    expect(first.stop).toBe("tool_use");
    expect(first.toolUses).toEqual([{ type: "tool_use", id: use.id, name: "Read", input: use.input }]);

    net.openai.replyOnce({ content: "The secret word is pelican." });
    const res = await replay(net, loopSecond, "via-openai");
    expect((await assemble(res)).text).toBe("The secret word is pelican.");
    const sent = net.openai.chatRequests[1]?.body.messages as Json[];
    expect(sent.slice(2)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: use.id, type: "function", function: { name: "Read", arguments: JSON.stringify(use.input) } },
        ],
      },
      { role: "tool", tool_call_id: use.id, content: result.content },
    ]);
    // The thinking block of the assistant turn (client path), the tool result's marker (canonical path).
    expect(res.headers.get(DROPPED)).toBe(
      "context_management,messages[1].content[0],messages[0].content[1].cache_control,messages[0].content[2].cache_control,messages[3].cache_control",
    );
  });
});

const cachePoint = { cachePoint: { type: "default" } };

describe("Claude Code's requests translated to Bedrock (Converse)", () => {
  it("keep the three system blocks as system entries, with a cachePoint after each marked block", async () => {
    const net = await setup();
    net.bedrock.next = { text: "Hello from Bedrock." };
    const res = await replay(net, plainReq, "via-bedrock");
    expect(await assemble(res)).toMatchObject({ text: "Hello from Bedrock.", stop: "end_turn" });
    const sent = net.bedrock.requests[0]?.body as Json & { messages: Json[] };
    expect(sent.system).toEqual([
      { text: systemTexts[0] },
      { text: systemTexts[1] },
      cachePoint,
      { text: systemTexts[2] },
      cachePoint,
    ]);
    const content = sent.messages[0]?.content as Json[];
    expect(content).toHaveLength(5);
    expect(content.at(-1)).toEqual(cachePoint);
    expect(content.slice(0, 4).every((b) => typeof b.text === "string")).toBe(true);
    const tools = (sent.toolConfig as { tools: Json[] }).tools;
    expect(tools.every((t) => t.toolSpec)).toBe(true);
    expect(tools).toHaveLength(24);
    // Nothing of the markers is lost; Converse has no place for the end user or a reasoning effort.
    expect(res.headers.get(DROPPED)).toBe("context_management,user,reasoning_effort");
  });

  it("send a model that does not cache no cachePoint, and list the markers", async () => {
    const net = await setup();
    const res = await replay(net, plainReq, "via-llama");
    expect((await assemble(res)).text).toBe("Hello from Bedrock");
    expect(JSON.stringify(net.bedrock.requests[0]?.body)).not.toContain("cachePoint");
    expect(res.headers.get(DROPPED)).toBe(
      ["context_management", "user", "reasoning_effort", ...PLAIN_MARKERS].join(","),
    );
  });

  it("round-trip the tool loop, the tool result's marker a cachePoint after it", async () => {
    const net = await setup();
    net.bedrock.next = { toolUses: [{ toolUseId: use.id, name: use.name, input: use.input }] };
    const first = await assemble(await replay(net, loopFirst, "via-bedrock"));
    expect(first.toolUses).toEqual([{ type: "tool_use", id: use.id, name: "Read", input: use.input }]);

    net.bedrock.next = { text: "pelican" };
    expect((await assemble(await replay(net, loopSecond, "via-bedrock"))).text).toBe("pelican");
    const sent = net.bedrock.requests[1]?.body.messages as Json[];
    expect(sent.slice(1)).toEqual([
      { role: "assistant", content: [{ toolUse: { toolUseId: use.id, name: "Read", input: use.input } }] },
      {
        role: "user",
        content: [{ toolResult: { toolUseId: use.id, content: [{ text: result.content }] } }, cachePoint],
      },
    ]);
  });
});

describe("Claude Code's requests translated to Gemini", () => {
  it("keep the three system blocks as systemInstruction parts and list the cache markers as dropped", async () => {
    const net = await setup();
    net.gemini.reply({ text: "Hello from Gemini." });
    const res = await replay(net, plainReq, "via-gemini");
    expect((await assemble(res)).text).toBe("Hello from Gemini.");
    const sent = net.gemini.requests[0]?.body as Json;
    expect(sent.systemInstruction).toEqual({ parts: systemTexts.map((text) => ({ text })) });
    expect((sent.generationConfig as Json).thinkingConfig).toEqual({
      thinkingBudget: 24576,
      includeThoughts: true,
    });
    expect(res.headers.get(DROPPED)).toBe(["context_management", "user", ...PLAIN_MARKERS].join(","));
  });

  it("round-trip the tool loop as a functionCall and its functionResponse", async () => {
    const net = await setup();
    net.gemini.replyOnce({ functionCalls: [{ name: use.name, args: use.input, id: use.id }] });
    const first = await assemble(await replay(net, loopFirst, "via-gemini"));
    expect(first.toolUses).toEqual([{ type: "tool_use", id: use.id, name: "Read", input: use.input }]);

    net.gemini.replyOnce({ text: "pelican" });
    expect((await assemble(await replay(net, loopSecond, "via-gemini"))).text).toBe("pelican");
    const contents = net.gemini.requests[1]?.body.contents as Json[];
    expect(contents.slice(1)).toEqual([
      { role: "model", parts: [{ functionCall: { name: "Read", args: use.input } }] },
      { role: "user", parts: [{ functionResponse: { name: "Read", response: { output: result.content } } }] },
    ]);
  });
});

describe("The Vercel AI SDK's generateObject through /v1/messages", () => {
  const schema = z.object({ city: z.string(), population: z.number().int(), coastal: z.boolean() });
  const answer = { city: "Lisbon", population: 545000, coastal: true };

  /** The AI SDK's Anthropic provider pointed at Sluice, recording the bodies it sent. */
  function sdk(g: Gateway, key: string) {
    const sent: Json[] = [];
    const provider = createAnthropic({
      baseURL: `${BASE}/v1`,
      apiKey: key,
      fetch: async (input, init) => {
        const req = new Request(input, init);
        sent.push(JSON.parse(await req.clone().text()) as Json);
        return g.call(req);
      },
    });
    const ask = () =>
      generateObject({
        model: provider("claude-sonnet-4-5"),
        schema,
        prompt: "The largest city of Portugal?",
        providerOptions: { anthropic: { structuredOutputMode: "outputFormat" } },
      });
    return { sent, ask };
  }

  it("gives an OpenAI-wire target the SDK's schema as a strict json_schema response_format, and parses the answer", async () => {
    const openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-o" });
    openai.reply({ content: JSON.stringify(answer) });
    const g = gateway({
      providers: { openai: { type: "openai", apiKey: "sk-o" } },
      models: { "claude-sonnet-4-5": { targets: [{ provider: "openai", model: "gpt-4.1" }] } },
    });
    const { sent, ask } = sdk(g, await g.createKey());
    const { object } = await ask();
    expect(object).toEqual(answer);
    const format = ((sent[0] as Json).output_config as Json).format as Json;
    expect(format.type).toBe("json_schema");
    expect(openai.chatRequests[0]?.body.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "response", schema: format.schema, strict: true },
    });
  });

  it("passes output_config.format through to an Anthropic target as the SDK sent it", async () => {
    const claude = installUpstreams().mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-up"));
    claude.reply({ text: JSON.stringify(answer) });
    const g = gateway({
      providers: { claude: { type: "anthropic", apiKey: "sk-ant-up", models: ["claude-sonnet-4-5"] } },
    });
    const { sent, ask } = sdk(g, await g.createKey());
    const { object } = await ask();
    expect(object).toEqual(answer);
    expect(claude.requests[0]?.body.output_config).toEqual(sent[0]?.output_config);
    expect(((sent[0] as Json).output_config as Json).format).toMatchObject({ type: "json_schema" });
  });
});
