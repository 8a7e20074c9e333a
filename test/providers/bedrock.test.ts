import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type EventMessage, EventStreamDecoder } from "../../src/formats/event-stream";
import { BEDROCK_ORIGIN, CREDS, FakeBedrock, frame, streamBytes } from "../helpers/bedrock-upstream";
import { WEATHER_TOOL } from "../helpers/fixtures";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { installUpstreams, readSse } from "../helpers/upstream";

type Json = Record<string, unknown>;
const MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const hi = [{ role: "user" as const, content: "hi" }];
const TOOL = WEATHER_TOOL;

const config = (extra: Json = {}) => ({
  providers: {
    aws: {
      type: "bedrock",
      region: "us-east-1",
      accessKeyId: "env:AWS_ACCESS_KEY_ID",
      secretAccessKey: "env:AWS_SECRET_ACCESS_KEY",
      ...extra,
    },
  },
  models: { claude: { targets: [{ provider: "aws", model: MODEL }] } },
});

let bedrock: FakeBedrock;
beforeEach(() => {
  bedrock = installUpstreams().mount(BEDROCK_ORIGIN, new FakeBedrock());
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(secret = CREDS.secretAccessKey, extra: Json = {}, vars: Json = {}) {
  const g = gateway(config(extra), {
    AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: secret,
    ...vars,
  });
  return { g, key: await g.createKey() };
}

const last = () =>
  bedrock.requests[bedrock.requests.length - 1] as { url: URL; headers: Record<string, string>; body: Json };

describe("Bedrock provider: the signed Converse request", () => {
  it("signs with SigV4 for bedrock in the region and posts to /model/{id}/converse", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "claude", messages: hi, max_tokens: 20 }, key),
    );
    expect(res.status).toBe(200);
    expect(last().url.pathname).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(last().headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(last().body).toEqual({
      messages: [{ role: "user", content: [{ text: "hi" }] }],
      inferenceConfig: { maxTokens: 20 },
    });
    const body = (await res.json()) as { choices: { message: Json; finish_reason: string }[]; usage: Json };
    expect(body.choices[0]?.message.content).toBe("Hello from Bedrock");
    expect(body.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 6 });
  });

  it("sends the session token when configured, and a wrong secret is refused by the signature check", async () => {
    const withToken = await setup(
      CREDS.secretAccessKey,
      { sessionToken: "env:AWS_SESSION_TOKEN" },
      { AWS_SESSION_TOKEN: "tok123" },
    );
    expect(
      (
        await withToken.g.fetch(
          "/v1/chat/completions",
          post({ model: "claude", messages: hi }, withToken.key),
        )
      ).status,
    ).toBe(200);
    expect(last().headers["x-amz-security-token"]).toBe("tok123");

    const wrong = await setup("not-the-secret");
    const res = await wrong.g.fetch(
      "/v1/chat/completions",
      post({ model: "claude", messages: hi }, wrong.key),
    );
    const err = (await res.json()) as { error: Json };
    expect(res.status).toBe(502);
    expect(err.error.code).toBe("upstream_auth_failed");
    expect(err.error.message).toContain("signature");
  });

  it("translates system, a tool call with its result, an image and tool config", async () => {
    const { g, key } = await setup();
    const messages = [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Look" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "t1", type: "function", function: { name: "get_weather", arguments: '{"city":"Bern"}' } },
        ],
      },
      { role: "tool", tool_call_id: "t1", content: "cold" },
    ];
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "claude",
          messages,
          tools: [TOOL],
          tool_choice: "required",
          temperature: 0.3,
          stop: "END",
          seed: 1,
        },
        key,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-dropped-params")).toBe("seed");
    expect(last().body).toEqual({
      system: [{ text: "Be brief." }],
      messages: [
        {
          role: "user",
          content: [{ text: "Look" }, { image: { format: "png", source: { bytes: "iVBORw0KGgo=" } } }],
        },
        {
          role: "assistant",
          content: [{ toolUse: { toolUseId: "t1", name: "get_weather", input: { city: "Bern" } } }],
        },
        { role: "user", content: [{ toolResult: { toolUseId: "t1", content: [{ text: "cold" }] } }] },
      ],
      inferenceConfig: { temperature: 0.3, stopSequences: ["END"] },
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "get_weather",
              description: "Weather",
              inputSchema: { json: TOOL.function.parameters },
            },
          },
        ],
        toolChoice: { any: {} },
      },
    });
  });
});

describe("Bedrock provider: answers, streams and errors", () => {
  it("streams the binary event stream as OpenAI chunks, with usage when asked", async () => {
    const { g, key } = await setup();
    bedrock.next = {
      text: "alpha beta gamma",
      usage: { inputTokens: 5, outputTokens: 3, cacheReadInputTokens: 20 },
    };
    const data = await readSse(
      await g.fetch(
        "/v1/chat/completions",
        post({ model: "claude", messages: hi, stream: true, stream_options: { include_usage: true } }, key),
      ),
    );
    expect(last().url.pathname).toMatch(/\/converse-stream$/);
    const chunks = data
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as { choices: Json[]; usage?: Json });
    expect(chunks.map((c) => (c.choices[0]?.delta as Json | undefined)?.content ?? "").join("")).toBe(
      "alpha beta gamma",
    );
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage).toMatchObject({
      prompt_tokens: 25,
      completion_tokens: 3,
      prompt_tokens_details: { cached_tokens: 20 },
    });
  });

  it("lets the OpenAI SDK complete a tool round trip, streaming and not", async () => {
    const { g, key } = await setup();
    const oa = openaiFor(g, key);
    bedrock.next = {
      toolUses: [{ toolUseId: "tooluse_1", name: "get_weather", input: { city: "Kyiv", unit: "c" } }],
    };
    const streamed = await oa.chat.completions
      .stream({ model: "claude", messages: hi, tools: [TOOL] })
      .finalChatCompletion();
    const call = streamed.choices[0]?.message.tool_calls?.[0];
    expect(streamed.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({
      city: "Kyiv",
      unit: "c",
    });

    const plain = await oa.chat.completions.create({ model: "claude", messages: hi, tools: [TOOL] });
    expect(plain.choices[0]?.message.tool_calls?.[0]?.id).toBe("tooluse_1");

    bedrock.next = { text: "Mild." };
    const answer = await oa.chat.completions.create({
      model: "claude",
      tools: [TOOL],
      messages: [
        ...hi,
        streamed.choices[0]?.message as never,
        { role: "tool", tool_call_id: "tooluse_1", content: "12C" },
      ],
    });
    expect(answer.choices[0]?.message.content).toBe("Mild.");
  });

  it("keeps ValidationException and ThrottlingException statuses and messages", async () => {
    const { g, key } = await setup();
    bedrock.failNext(429, "ThrottlingException", "Too many requests, please wait before trying again.");
    const throttled = await g.fetch("/v1/chat/completions", post({ model: "claude", messages: hi }, key));
    expect(throttled.status).toBe(429);
    expect(((await throttled.json()) as { error: Json }).error).toMatchObject({
      code: "ThrottlingException",
    });
    const invalid = await g.fetch(
      "/v1/chat/completions",
      post({ model: "claude", messages: [{ role: "tool", tool_call_id: "zz", content: "x" }] }, key),
    );
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: Json }).error.message).toContain("toolUseId");
  });

  it("passes a mid-stream exception on as an error chunk", async () => {
    const { g, key } = await setup();
    bedrock.next = {
      text: "partial text",
      exception: { type: "modelStreamErrorException", message: "Model failed" },
    };
    const data = await readSse(
      await g.fetch("/v1/chat/completions", post({ model: "claude", messages: hi, stream: true }, key)),
    );
    const err = data
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as Json)
      .find((d) => d.error) as { error: Json };
    expect(err.error).toMatchObject({ message: "Model failed", type: "modelStreamErrorException" });
  });
});

describe("The event-stream decoder", () => {
  const bytes = streamBytes({ text: "one two", toolUses: [{ toolUseId: "x", name: "f", input: { a: 1 } }] });
  const decodeIn = (pieces: Uint8Array[]) => {
    const out: EventMessage[] = [];
    const d = new EventStreamDecoder((m) => out.push(m));
    for (const p of pieces) d.push(p);
    d.end();
    return out.map((m) => [m.headers[":event-type"], new TextDecoder().decode(m.payload)]);
  };

  it("decodes the same messages whatever the chunk boundaries", () => {
    const whole = decodeIn([bytes]);
    expect(whole[0]).toEqual(["messageStart", '{"role":"assistant"}']);
    for (const cut of [1, 3, 12, 13, 50]) {
      expect(decodeIn([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(whole);
    }
    expect(decodeIn(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(whole);
  });

  it("rejects a corrupted message and a stream cut inside a message", () => {
    const bad = frame({ ":event-type": "messageStart" }, { role: "assistant" });
    bad[bad.length - 6] = (bad[bad.length - 6] as number) ^ 0xff;
    expect(() => decodeIn([bad])).toThrow(/checksum/);
    expect(() => decodeIn([bytes.slice(0, 20)])).toThrow(/inside a message/);
  });
});
