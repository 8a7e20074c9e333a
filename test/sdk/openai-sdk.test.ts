import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { describe, expect, it } from "vitest";
import { BASE, type Gateway, gateway } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";

const user = (content: string): ChatCompletionMessageParam => ({ role: "user", content });

const weatherTool: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        days: { type: "integer" },
        metric: { type: "boolean" },
      },
      required: ["city", "days", "metric"],
      additionalProperties: false,
    },
  },
};

async function setup(keyBody?: Record<string, unknown>) {
  const g = gateway();
  const key = await g.createKey(keyBody);
  return { g, key, oa: openaiFor(g, key) };
}

/** An SDK client whose traffic is recorded, to see what went over the wire. */
function recordingClient(g: Gateway, key: string) {
  const wire: { request: unknown; response: unknown }[] = [];
  const oa = new OpenAI({
    apiKey: key,
    baseURL: `${BASE}/v1`,
    maxRetries: 0,
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      const res = await g.fetch(url.slice(BASE.length), init);
      wire.push({
        request: typeof init?.body === "string" ? JSON.parse(init.body) : null,
        response: await res.clone().json(),
      });
      return res;
    },
  });
  return { oa, wire };
}

/** Checks arguments against the weather tool's schema: exactly its properties, each of its type. */
function expectMatchesWeatherSchema(args: string): void {
  const parsed = JSON.parse(args) as Record<string, unknown>;
  expect(Object.keys(parsed).sort()).toEqual(["city", "days", "metric"]);
  expect(typeof parsed.city).toBe("string");
  expect(Number.isInteger(parsed.days)).toBe(true);
  expect(typeof parsed.metric).toBe("boolean");
}

describe("the OpenAI SDK: chat", () => {
  it("gets a completion with usage", async () => {
    const { g, oa } = await setup();
    const r = await oa.chat.completions.create({ model: "mock/echo", messages: [user("hello there")] });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0]?.message.content).toBe("You said: hello there");
    expect(r.choices[0]?.finish_reason).toBe("stop");
    expect(r.usage?.total_tokens).toBeGreaterThan(0);
    await g.settle();
  });

  it("streams a completion whose deltas assemble into the same text", async () => {
    const { g, oa } = await setup();
    const stream = await oa.chat.completions.create({
      model: "mock/lorem",
      messages: [user("tell me")],
      stream: true,
    });
    let text = "";
    let finish: string | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    const whole = await oa.chat.completions.create({ model: "mock/lorem", messages: [user("tell me")] });
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(text).toMatch(/^Sluice is a gateway/);
    expect(finish).toBe("stop");
    await g.settle();
  });

  it("gets usage in the last chunk when it asks for include_usage, and not otherwise", async () => {
    const { g, oa } = await setup();
    const withUsage = await oa.chat.completions.create({
      model: "mock/echo",
      messages: [user("hi")],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);

    const without = await oa.chat.completions.create({
      model: "mock/echo",
      messages: [user("hi")],
      stream: true,
    });
    const seen: unknown[] = [];
    for await (const chunk of without) if (chunk.usage) seen.push(chunk.usage);
    expect(seen).toEqual([]);
    await g.settle();
  });

  it("honours max_tokens with finish_reason length", async () => {
    const { g, oa } = await setup();
    const r = await oa.chat.completions.create({ model: "mock/lorem", messages: [user("x")], max_tokens: 3 });
    expect(r.choices[0]?.message.content).toBe("Sluice is a");
    expect(r.choices[0]?.finish_reason).toBe("length");
    await g.settle();
  });
});

describe("the OpenAI SDK: tool calls", () => {
  it("gets a tool call whose arguments fit the tool's schema, then an answer from the tool result", async () => {
    const { g, oa } = await setup();
    const messages: ChatCompletionMessageParam[] = [user("What's the weather in Lisbon?")];
    const first = await oa.chat.completions.create({ model: "mock/echo", messages, tools: [weatherTool] });
    const choice = first.choices[0];
    if (!choice) throw new Error("expected a choice");
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function tool call");
    expect(call.id).toMatch(/\S/);
    expect(call.function.name).toBe("get_weather");
    expectMatchesWeatherSchema(call.function.arguments);

    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: "sunny, 24°C" });
    const second = await oa.chat.completions.create({ model: "mock/echo", messages, tools: [weatherTool] });
    expect(second.choices[0]?.message.content).toBe("The tool returned: sunny, 24°C");
    expect(second.choices[0]?.finish_reason).toBe("stop");
    await g.settle();
  });

  it("calls the tool named by tool_choice", async () => {
    const { g, oa } = await setup();
    const other: ChatCompletionTool = {
      type: "function",
      function: { name: "lookup", parameters: { type: "object", properties: { id: { type: "number" } } } },
    };
    const r = await oa.chat.completions.create({
      model: "mock/echo",
      messages: [user("find it")],
      tools: [weatherTool, other],
      tool_choice: { type: "function", function: { name: "lookup" } },
    });
    const call = r.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== "function") throw new Error("expected a function tool call");
    expect(call.function.name).toBe("lookup");
    expect(JSON.parse(call.function.arguments)).toEqual({ id: 1 });
    await g.settle();
  });

  it("streams a tool call that the SDK's stream helper assembles into the same arguments", async () => {
    const { g, oa } = await setup();
    const body = { model: "mock/echo", messages: [user("Weather in Oslo?")], tools: [weatherTool] };
    const whole = await oa.chat.completions.create(body);
    const expected = whole.choices[0]?.message.tool_calls?.[0];
    if (expected?.type !== "function") throw new Error("expected a function tool call");

    const stream = oa.chat.completions.stream(body);
    const doneArgs: string[] = [];
    stream.on("tool_calls.function.arguments.done", (e) => doneArgs.push(e.arguments));
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== "function") throw new Error("expected a function tool call");
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call.id).toBe(expected.id);
    expect(call.function.name).toBe("get_weather");
    expect(call.function.arguments).toBe(expected.function.arguments);
    expect(doneArgs).toEqual([expected.function.arguments]);
    expectMatchesWeatherSchema(call.function.arguments);
    await g.settle();
  });

  it("streams tool-call deltas that accumulate by hand to the same arguments, in several pieces", async () => {
    const { g, oa } = await setup();
    const body = { model: "mock/echo", messages: [user("Weather in Oslo?")], tools: [weatherTool] };
    const whole = await oa.chat.completions.create(body);
    const expected = whole.choices[0]?.message.tool_calls?.[0];
    if (expected?.type !== "function") throw new Error("expected a function tool call");

    const stream = await oa.chat.completions.create({ ...body, stream: true });
    const calls: { id?: string; name?: string; args: string }[] = [];
    let pieces = 0;
    for await (const chunk of stream) {
      for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
        const c = calls[d.index] ?? { args: "" };
        calls[d.index] = c;
        if (d.id) c.id = d.id;
        if (d.function?.name) c.name = d.function.name;
        if (d.function?.arguments) {
          c.args += d.function.arguments;
          pieces++;
        }
      }
    }
    expect(calls).toHaveLength(1);
    expect(pieces).toBeGreaterThan(1);
    expect(calls[0]).toEqual({ id: expected.id, name: "get_weather", args: expected.function.arguments });
    await g.settle();
  });

  it("runs a whole tool loop with the SDK's runTools helper", async () => {
    const { g, oa } = await setup();
    const seen: unknown[] = [];
    const runner = oa.chat.completions.runTools({
      model: "mock/echo",
      messages: [user("Weather in Porto?")],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Current weather for a city",
            parameters: weatherTool.function.parameters ?? {},
            parse: (s: string) => JSON.parse(s) as { city: string; days: number; metric: boolean },
            function: (args: { city: string; days: number; metric: boolean }) => {
              seen.push(args);
              return `cloudy in ${args.city}`;
            },
          },
        },
      ],
    });
    expect(await runner.finalContent()).toBe("The tool returned: cloudy in example");
    expect(seen).toEqual([{ city: "example", days: 1, metric: true }]);
    await g.settle();
  });
});

describe("the OpenAI SDK: embeddings", () => {
  it("decodes the SDK's default base64 encoding to a float vector of the asked length", async () => {
    const { g, key } = await setup();
    const { oa, wire } = recordingClient(g, key);
    const r = await oa.embeddings.create({ model: "mock/echo", input: ["first", "second"], dimensions: 24 });
    // The SDK asked for base64 and the gateway passed base64 back untouched.
    expect(wire[0]?.request).toMatchObject({ encoding_format: "base64" });
    const raw = wire[0]?.response as { data: { embedding: unknown }[] };
    expect(typeof raw.data[0]?.embedding).toBe("string");

    expect(r.object).toBe("list");
    expect(r.data).toHaveLength(2);
    for (const [i, d] of r.data.entries()) {
      expect(d.index).toBe(i);
      expect(d.embedding).toHaveLength(24);
      for (const v of d.embedding) expect(Number.isFinite(v)).toBe(true);
      expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 5);
    }
    expect(r.data[0]?.embedding).not.toEqual(r.data[1]?.embedding);
    expect(r.usage.prompt_tokens).toBeGreaterThan(0);
    await g.settle();
  });

  it("returns plain floats with encoding_format float, equal to the decoded base64 vector", async () => {
    const { g, oa } = await setup();
    const asFloat = await oa.embeddings.create({
      model: "mock/echo",
      input: "same text",
      encoding_format: "float",
    });
    const asDefault = await oa.embeddings.create({ model: "mock/echo", input: "same text" });
    const f = asFloat.data[0]?.embedding ?? [];
    const b = asDefault.data[0]?.embedding ?? [];
    expect(Array.isArray(f)).toBe(true);
    expect(f).toHaveLength(16);
    expect(b).toHaveLength(16);
    f.forEach((v, i) => {
      expect(b[i]).toBeCloseTo(v, 6);
    });
    await g.settle();
  });
});

describe("the OpenAI SDK: models", () => {
  it("lists the models the key may use", async () => {
    const { oa } = await setup();
    const ids: string[] = [];
    for await (const m of oa.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["demo", "demo-balanced", "mock/echo", "mock/lorem"]));

    const { oa: narrow } = await setup({ name: "narrow", models: ["mock/e*"] });
    const narrowIds: string[] = [];
    for await (const m of narrow.models.list()) narrowIds.push(m.id);
    expect(narrowIds).toEqual(["mock/echo"]);
  });
});

describe("the OpenAI SDK: errors map to its error classes", () => {
  async function failure(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
    const e = await p.then(
      () => {
        throw new Error("expected the call to fail");
      },
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(OpenAI.APIError);
    return e as InstanceType<typeof OpenAI.APIError>;
  }

  it("401 is an AuthenticationError", async () => {
    const g = gateway();
    const oa = openaiFor(g, `sk-sluice-${"Z".repeat(40)}`);
    const e = await failure(oa.chat.completions.create({ model: "mock/echo", messages: [user("x")] }));
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e.status).toBe(401);
    expect(e.code).toBe("invalid_api_key");
    expect(e.type).toBe("authentication_error");
    expect(e.requestID).toMatch(/^req_/);
  });

  it("400 is a BadRequestError naming the param", async () => {
    const { oa } = await setup();
    const e = await failure(
      oa.chat.completions.create({ model: "mock/echo", messages: [user("x")], max_tokens: -1 }),
    );
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid_request");
    expect(e.param).toBe("max_tokens");
  });

  it("404 is a NotFoundError", async () => {
    const { oa } = await setup();
    const e = await failure(oa.chat.completions.create({ model: "gpt-nope", messages: [user("x")] }));
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.status).toBe(404);
    expect(e.code).toBe("model_not_found");
    expect(e.param).toBe("model");
  });

  it("403 is a PermissionDeniedError", async () => {
    const { oa } = await setup({ name: "lorem only", models: ["mock/l*"] });
    const e = await failure(oa.chat.completions.create({ model: "mock/echo", messages: [user("x")] }));
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.status).toBe(403);
    expect(e.code).toBe("model_not_allowed");
  });

  it("an upstream 429 is a RateLimitError keeping the status, type and Retry-After, with a distinct code", async () => {
    const { g, oa } = await setup();
    const e = await failure(oa.chat.completions.create({ model: "mock/fail-429", messages: [user("x")] }));
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.status).toBe(429);
    expect(e.type).toBe("rate_limit_error");
    expect(e.code).toBe("upstream_rate_limited");
    expect(e.message).toContain("fail-429");
    expect(e.headers?.get("retry-after")).toBe("1");
    expect(e.headers?.get("x-sluice-retries")).toBe("0");
    await g.settle();
  });

  it("a streamed request that fails upstream throws an InternalServerError before any chunk", async () => {
    const { g, oa } = await setup();
    const e = await failure(
      oa.chat.completions.create({ model: "mock/fail-500", messages: [user("x")], stream: true }),
    );
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    expect(e.status).toBe(500);
    await g.settle();
  });
});

describe("the OpenAI SDK: Sluice response headers", () => {
  it("carries request id, provider, model, cache and retries on a completion", async () => {
    const { g, oa } = await setup();
    const { response } = await oa.chat.completions
      .create({ model: "mock/echo", messages: [user("hi")] }, { headers: { "x-request-id": "sdk-test-1" } })
      .withResponse();
    expect(response.headers.get("x-request-id")).toBe("sdk-test-1");
    expect(response.headers.get("x-sluice-provider")).toBe("mock");
    expect(response.headers.get("x-sluice-model")).toBe("echo");
    expect(response.headers.get("x-sluice-cache")).toBe("BYPASS");
    expect(response.headers.get("x-sluice-retries")).toBe("0");
    // The SDK exposes the gateway's request id on every result.
    const plain = await oa.chat.completions.create({ model: "mock/echo", messages: [user("hi")] });
    expect(plain._request_id).toMatch(/^req_[0-9a-f]{32}$/);
    await g.settle();
  });

  it("counts retries and fallbacks in x-sluice-retries and names the provider that answered", async () => {
    const { g, oa } = await setup();
    // demo: mock-flaky always fails (2 attempts), then falls back to mock.
    const { data, response } = await oa.chat.completions
      .create({ model: "demo", messages: [user("hi")] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("You said: hi");
    expect(response.headers.get("x-sluice-provider")).toBe("mock");
    expect(response.headers.get("x-sluice-model")).toBe("echo");
    expect(response.headers.get("x-sluice-retries")).toBe("2");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    await g.settle();
  });

  it("carries the headers on a stream and on embeddings", async () => {
    const { g, oa } = await setup();
    const { data: stream, response } = await oa.chat.completions
      .create({ model: "mock/lorem", messages: [user("hi")], stream: true })
      .withResponse();
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("x-sluice-provider")).toBe("mock");
    expect(response.headers.get("x-sluice-model")).toBe("lorem");
    expect(response.headers.get("x-sluice-cache")).toBe("BYPASS");
    expect(response.headers.get("x-sluice-retries")).toBe("0");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    for await (const _ of stream) {
      // drain
    }
    const emb = await oa.embeddings.create({ model: "mock/echo", input: "x" }).withResponse();
    expect(emb.response.headers.get("x-sluice-provider")).toBe("mock");
    expect(emb.response.headers.get("x-sluice-cache")).toBe("BYPASS");
    await g.settle();
  });
});
