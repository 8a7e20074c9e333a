import { env } from "cloudflare:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BASE, gateway } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";
import { getWith, newKey } from "../spend/ledger-helpers";
import { LISBON_TOOL_TURNS, WEATHER } from "./fixtures";

type Json = Record<string, unknown>;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Two keys' OpenAI SDKs against Sluice, with a strict OpenAI fake behind the alias `fast`. */
async function setup() {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  const openai = net.add("https://api.openai.com", { apiKey: "sk-openai" });
  const g = gateway(
    {
      // The chat target: Responses requests are translated (OpenAI would take them as they are, see passthrough.test.ts).
      providers: { openai: { type: "openai", apiKey: "env:OPENAI_API_KEY", responsesApi: false } },
      models: { fast: { targets: [{ provider: "openai", model: "gpt-4.1-mini" }] } },
    },
    { OPENAI_API_KEY: "sk-openai" },
  );
  const key = await newKey(g, { name: "stored" });
  const other = await newKey(g, { name: "someone else" });
  return { g, key, openai, oa: openaiFor(g, key.secret), them: openaiFor(g, other.secret) };
}

/** The local KV namespace the gateway stores responses in (bound in wrangler.toml; not in the test env's type). */
const kv = (env as unknown as { CACHE: KVNamespace }).CACHE;

/** A Response's `store` (in every Response object the API answers, not in the SDK's type). */
const storeOf = (r: object): unknown => (r as Json).store;

const messagesOf = (openai: FakeUpstream, at = -1): Json[] =>
  (openai.chatRequests.at(at)?.body.messages ?? []) as Json[];

/** The error an SDK call failed with (the call must fail). */
async function failure(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof OpenAI.APIError)) throw new Error(`expected an API error, got ${String(err)}`);
  return err;
}

describe("stored responses: store (true when omitted), retrieve, delete, previous_response_id", () => {
  it("stores a response by default: responses.retrieve returns it for the same key and 404s for another key", async () => {
    const { g, key, openai, oa, them } = await setup();
    openai.reply({ content: "Lisbon is sunny." });
    const created = await oa.responses.create({ model: "fast", input: "Weather in Lisbon?" });
    expect(storeOf(created)).toBe(true);
    expect(created.previous_response_id).toBeNull();
    await g.settle();

    const again = await oa.responses.retrieve(created.id);
    expect(again).toEqual(created);

    const theirs = await failure(them.responses.retrieve(created.id));
    expect(theirs).toBeInstanceOf(OpenAI.NotFoundError);
    expect(theirs.error).toEqual({
      message: `Response with id '${created.id}' not found.`,
      type: "invalid_request_error",
      code: "not_found",
      param: null,
    });
    const chained = await failure(
      them.responses.create({ model: "fast", input: "and?", previous_response_id: created.id }),
    );
    expect(chained.status).toBe(400);
    expect(chained.code).toBe("previous_response_not_found");
    const message = created.output[0];
    const referenced = await failure(
      them.responses.create({ model: "fast", input: [{ type: "item_reference", id: String(message?.id) }] }),
    );
    expect(referenced).toBeInstanceOf(OpenAI.NotFoundError);
    expect(referenced.param).toBe("input[0]");
    expect(openai.chatRequests).toHaveLength(1);

    // The KV key names the Sluice key and the response, never the prompt; the value expires in 30 days.
    const listed = await kv.list({ prefix: `rs:${key.id}:` });
    expect(listed.keys.map((k) => k.name)).toEqual([`rs:${key.id}:${created.id}`]);
    const days = ((listed.keys[0]?.expiration ?? 0) - Date.now() / 1000) / 86_400;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    await g.settle();
  });

  it("sends the earlier turns upstream on a chained call with previous_response_id, but not their instructions", async () => {
    const { g, openai, oa } = await setup();
    openai.replyOnce({ content: "Hello, Ana." });
    openai.replyOnce({ content: "Your name is Ana." });
    openai.replyOnce({ content: "Ana, then Lisbon." });
    const first = await oa.responses.create({
      model: "fast",
      instructions: "Be terse.",
      input: "My name is Ana.",
    });
    const second = await oa.responses.create({
      model: "fast",
      instructions: "Answer in one sentence.",
      previous_response_id: first.id,
      input: [{ role: "user", content: "What is my name?" }],
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.instructions).toBe("Answer in one sentence.");
    expect(messagesOf(openai)).toEqual([
      { role: "system", content: "Answer in one sentence." },
      { role: "user", content: "My name is Ana." },
      { role: "assistant", content: "Hello, Ana." },
      { role: "user", content: "What is my name?" },
    ]);

    // Streamed, from the second: the whole conversation, one stored read.
    const third = await oa.responses
      .stream({ model: "fast", previous_response_id: second.id, input: "And my city is Lisbon." })
      .finalResponse();
    expect(third).toMatchObject({ store: true, previous_response_id: second.id });
    expect(messagesOf(openai)).toEqual([
      { role: "user", content: "My name is Ana." },
      { role: "assistant", content: "Hello, Ana." },
      { role: "user", content: "What is my name?" },
      { role: "assistant", content: "Your name is Ana." },
      { role: "user", content: "And my city is Lisbon." },
    ]);
    await g.settle();
    const items = await oa.responses.inputItems.list(third.id, { order: "asc" });
    expect(items.data.map((i) => (i.type === "message" ? i.role : i.type))).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
    expect(items.data.every((i) => typeof i.id === "string" && i.id.length > 0)).toBe(true);
    const newest = await oa.responses.inputItems.list(third.id, { limit: 2 });
    expect(newest.data).toEqual(items.data.slice(-2).reverse());
    expect(newest.has_more).toBe(true);
    await g.settle();
  });

  it("completes a function-tool round trip through previous_response_id and a function_call_output", async () => {
    const { g, openai, oa } = await setup();
    openai.replyOnce({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' }] });
    openai.replyOnce({ content: "It is 21C in Lisbon." });
    const first = await oa.responses
      .stream({ model: "fast", input: "Weather in Lisbon?", tools: [WEATHER] })
      .finalResponse();
    const call = first.output.find((o) => o.type === "function_call");
    if (call?.type !== "function_call") throw new Error("expected a function call");
    const second = await oa.responses.create({
      model: "fast",
      tools: [WEATHER],
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "21C, clear" }],
    });
    expect(second.output_text).toBe("It is 21C in Lisbon.");
    expect(messagesOf(openai)).toEqual(LISBON_TOOL_TURNS);
    await g.settle();
    const stored = await oa.responses.retrieve(first.id);
    expect(stored).toMatchObject({ id: first.id, status: "completed", store: true, tools: [WEATHER] });
    expect(stored.output).toEqual([
      {
        id: call.id,
        type: "function_call",
        status: "completed",
        call_id: "call_w1",
        name: "get_weather",
        arguments: call.arguments,
      },
    ]);
  });

  it("deletes a stored response with responses.delete; retrieving, continuing or deleting it again then fails", async () => {
    const { g, key, openai, oa } = await setup();
    openai.reply({ content: "Noted." });
    const created = await oa.responses.create({ model: "fast", input: "Remember 42." });
    await g.settle();
    const raw = await g.fetch(`/v1/responses/${created.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${key.secret}` },
    });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual({ id: created.id, object: "response", deleted: true });
    expect(await failure(oa.responses.retrieve(created.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await failure(oa.responses.delete(created.id))).toBeInstanceOf(OpenAI.NotFoundError);
    const chained = await failure(
      oa.responses.create({ model: "fast", input: "Which number?", previous_response_id: created.id }),
    );
    expect(chained.code).toBe("previous_response_not_found");

    const other = await oa.responses.create({ model: "fast", input: "Remember 7." });
    await g.settle();
    await oa.responses.delete(other.id);
    expect(await failure(oa.responses.retrieve(other.id))).toBeInstanceOf(OpenAI.NotFoundError);
    await g.settle();
  });

  it("stores nothing with store: false: retrieve is a 404 and previous_response_id to it is refused", async () => {
    const { g, openai, oa } = await setup();
    openai.reply({ content: "Not kept." });
    const created = await oa.responses.create({ model: "fast", input: "Forget this.", store: false });
    expect(storeOf(created)).toBe(false);
    const streamed = await oa.responses
      .stream({ model: "fast", input: "Forget this too.", store: false })
      .finalResponse();
    expect(storeOf(streamed)).toBe(false);
    await g.settle();
    expect(await failure(oa.responses.retrieve(created.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await failure(oa.responses.retrieve(streamed.id))).toBeInstanceOf(OpenAI.NotFoundError);
    const chained = await failure(
      oa.responses.create({ model: "fast", input: "and?", previous_response_id: created.id }),
    );
    expect(chained).toBeInstanceOf(OpenAI.BadRequestError);
    expect(chained.error).toEqual({
      message: `Previous response with id '${created.id}' not found.`,
      type: "invalid_request_error",
      code: "previous_response_not_found",
      param: "previous_response_id",
    });
    expect(openai.chatRequests).toHaveLength(2);
  });

  it("answers store: false past the 1 MiB bound, from the first stream event, and stores nothing", async () => {
    const { g, openai, oa } = await setup();
    openai.reply({ content: "Long indeed." });
    const input = `Summarize: ${"lorem ipsum ".repeat(90_000)}`;
    const created = await oa.responses.create({ model: "fast", input });
    expect(storeOf(created)).toBe(false);
    const events: ResponseStreamEvent[] = [];
    const stream = await oa.responses.create({ model: "fast", input, stream: true });
    for await (const e of stream) events.push(e);
    const stores = events.flatMap((e) => ("response" in e ? [storeOf(e.response)] : []));
    expect(stores).toEqual([false, false, false]);
    await g.settle();
    expect(await failure(oa.responses.retrieve(created.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("refuses an item_reference to an item this key never stored with a 404 naming the input item", async () => {
    const { g, key, openai } = await setup();
    for (const id of ["msg_1", `msg_${"ab".repeat(26)}`]) {
      const res = await g.fetch("/v1/responses", {
        method: "POST",
        headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "fast",
          input: [
            { role: "user", content: "Hi" },
            { type: "item_reference", id },
          ],
        }),
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: {
          message: `Item with id '${id}' not found.`,
          type: "invalid_request_error",
          code: "not_found",
          param: "input[1]",
        },
      });
    }
    const bad = await getWith(g, "/v1/responses/not-an-id", key.secret);
    expect(bad.status).toBe(404);
    expect(openai.chatRequests).toHaveLength(0);
    await g.settle();
  });
});

describe("the Vercel AI SDK's default openai(model) with stored responses", () => {
  it("runs its default multi-step tool loop, whose later steps send item_reference items, generated and streamed", async () => {
    const { g, key, openai } = await setup();
    const sent: Json[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit) => {
      if (typeof init?.body === "string") sent.push(JSON.parse(init.body) as Json);
      return g.call(input, init);
    };
    const provider = createOpenAI({ baseURL: `${BASE}/v1`, apiKey: key.secret, fetch });
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
    const script = () => {
      openai.replyOnce({
        content: "Checking.",
        toolCalls: [{ id: "call_ai2", name: "get_weather", arguments: '{"city":"Oslo"}' }],
      });
      openai.replyOnce({ content: "Oslo: 4C and rain." });
    };
    const expected = [
      { role: "user", content: [{ type: "text", text: "Weather in Oslo?" }] },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          {
            id: "call_ai2",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_ai2", content: "Oslo: 4C, rain" },
    ];
    const args = {
      model: provider("fast"),
      prompt: "Weather in Oslo?",
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    };

    script();
    const generated = await generateText(args);
    expect(generated.text).toBe("Oslo: 4C and rain.");
    expect(generated.steps).toHaveLength(2);
    expect(messagesOf(openai)).toEqual(expected);
    const step2 = sent.at(-1) as { store?: unknown; input: Json[] };
    expect(step2.store).toBeUndefined(); // the SDK leaves store to the API's default (true)
    expect(step2.input).toContainEqual({ type: "item_reference", id: expect.stringMatching(/^msg_/) });

    script();
    const streamed = streamText(args);
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe("Checking.Oslo: 4C and rain.");
    expect((await streamed.steps).length).toBe(2);
    expect(messagesOf(openai)).toEqual(expected);
    expect((sent.at(-1) as { input: Json[] }).input.map((i) => i.type ?? i.role)).toEqual([
      "user",
      "item_reference",
      "function_call",
      "function_call_output",
    ]);
    await g.settle();
  });
});
