import { describe, expect, it } from "vitest";
import { WEATHER_TOOL } from "../helpers/fixtures";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { readSse } from "../helpers/upstream";
import { FakeAi } from "../helpers/workers-ai-binding";

type Json = Record<string, unknown>;
const LLAMA = "@cf/meta/llama-3.1-8b-instruct";
const CONFIG = { providers: { cf: { type: "workers-ai" } }, models: {} };
const TOOL = WEATHER_TOOL;

async function setup(ai: FakeAi | null = new FakeAi(), config: Json = CONFIG) {
  const g = gateway(config, ai ? { AI: ai } : {});
  const key = await g.createKey();
  return { g, key, ai: ai as FakeAi };
}

describe("Workers AI provider through the AI binding", () => {
  it("runs a chat with the system prompt and answers in OpenAI's shape with usage", async () => {
    const { g, key, ai } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: `cf/${LLAMA}`,
          max_tokens: 30,
          temperature: 0.5,
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: [{ type: "text", text: "hi" }] },
          ],
        },
        key,
      ),
    );
    const body = (await res.json()) as { choices: { message: Json; finish_reason: string }[]; usage: Json };
    expect(res.status).toBe(200);
    expect(ai.calls[0]).toMatchObject({
      model: LLAMA,
      inputs: {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "hi" },
        ],
        max_tokens: 30,
        temperature: 0.5,
      },
    });
    expect(body.choices[0]?.message.content).toBe("Hello from Workers AI");
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
  });

  it("drops what the binding cannot take and lists it, or refuses it in strict mode", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: `cf/${LLAMA}`, messages: [{ role: "user", content: "x" }], logprobs: true }, key),
    );
    expect(res.headers.get("x-sluice-dropped-params")).toBe("logprobs");
    const strict = await setup(new FakeAi(), {
      providers: { cf: { type: "workers-ai", strict: true } },
      models: {},
    });
    const refused = await strict.g.fetch(
      "/v1/chat/completions",
      post({ model: `cf/${LLAMA}`, messages: [{ role: "user", content: "x" }], logprobs: true }, strict.key),
    );
    expect(refused.status).toBe(400);
    expect(strict.ai.calls).toHaveLength(0);
  });

  it("sends the text of an image message and lists the image part as dropped (the binding takes text content)", async () => {
    const { g, key, ai } = await setup();
    const content = [
      { type: "text", text: "Describe" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
    ];
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: `cf/${LLAMA}`, messages: [{ role: "user", content }] }, key),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-dropped-params")).toBe("messages[0].content");
    expect(ai.calls[0]?.inputs.messages).toEqual([{ role: "user", content: "Describe" }]);
  });

  it("streams text and usage as OpenAI chunks", async () => {
    const { g, key, ai } = await setup();
    ai.text = "one two three";
    const data = await readSse(
      await g.fetch(
        "/v1/chat/completions",
        post(
          {
            model: `cf/${LLAMA}`,
            stream: true,
            stream_options: { include_usage: true },
            messages: [{ role: "user", content: "x" }],
          },
          key,
        ),
      ),
    );
    const chunks = data
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as { choices: Json[]; usage?: Json });
    expect(chunks.map((c) => (c.choices[0]?.delta as Json | undefined)?.content ?? "").join("")).toBe(
      "one two three",
    );
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4 });
    expect(ai.calls[0]?.inputs.stream).toBe(true);
  });

  it("completes a tool round trip with the OpenAI SDK, streaming and not", async () => {
    const { g, key, ai } = await setup();
    const oa = openaiFor(g, key);
    const first = await oa.chat.completions.create({
      model: `cf/${LLAMA}`,
      tools: [TOOL],
      messages: [{ role: "user", content: "Paris?" }],
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
    expect(ai.calls[0]?.inputs.tools).toEqual([TOOL]);

    const streamed = await oa.chat.completions
      .stream({ model: `cf/${LLAMA}`, tools: [TOOL], messages: [{ role: "user", content: "Paris?" }] })
      .finalChatCompletion();
    const sc = streamed.choices[0]?.message.tool_calls?.[0];
    expect(sc?.type === "function" && sc.function.name).toBe("get_weather");

    const answer = await oa.chat.completions.create({
      model: `cf/${LLAMA}`,
      tools: [TOOL],
      messages: [
        { role: "user", content: "Paris?" },
        first.choices[0]?.message as never,
        { role: "tool", tool_call_id: String(call?.id), content: "21C" },
      ],
    });
    expect(answer.choices[0]?.message.content).toBe("Tool said: 21C");
    expect((ai.calls.at(-1)?.inputs.messages as Json[] | undefined)?.[2]).toEqual({
      role: "tool",
      content: "21C",
      tool_call_id: String(call?.id),
    });
  });

  it("embeds through the OpenAI SDK, single, batch and base64", async () => {
    const { g, key, ai } = await setup();
    const oa = openaiFor(g, key);
    const one = await oa.embeddings.create({ model: "cf/@cf/baai/bge-small-en-v1.5", input: "hello" });
    expect(one.data[0]?.embedding).toHaveLength(384);
    expect(ai.calls[0]?.inputs).toEqual({ text: ["hello"] });
    const batch = await oa.embeddings.create({
      model: "cf/@cf/baai/bge-small-en-v1.5",
      input: ["a", "b"],
      encoding_format: "float",
    });
    expect(batch.data.map((d) => d.index)).toEqual([0, 1]);
    expect(ai.calls[1]?.inputs).toEqual({ text: ["a", "b"] });
    const raw = await g.fetch(
      "/v1/embeddings",
      post({ model: "cf/@cf/baai/bge-small-en-v1.5", input: "a", encoding_format: "base64" }, key),
    );
    const b64 = ((await raw.json()) as { data: { embedding: string }[] }).data[0]?.embedding ?? "";
    const floats = new Float32Array(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);
    expect(floats).toHaveLength(384);
    expect(floats[0]).toBeCloseTo(batch.data[0]?.embedding[0] ?? Number.NaN, 5);
    expect(batch.data[1]?.embedding[0]).toBeCloseTo((98 % 97) / 97, 5);
  });

  it("maps binding errors: unknown model 404, bad input 400, capacity 429, other failures 502, missing binding 503 with how to add it", async () => {
    const { g, key } = await setup();
    const unknown = await g.fetch(
      "/v1/chat/completions",
      post({ model: "cf/@cf/nope", messages: [{ role: "user", content: "x" }] }, key),
    );
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: Json }).error.message).toContain("No such model");
    const tokens = await g.fetch(
      "/v1/embeddings",
      post({ model: "cf/@cf/baai/bge-small-en-v1.5", input: [[1, 2]] }, key),
    );
    expect(tokens.status).toBe(400);

    const { g: g2, key: k2, ai } = await setup();
    ai.failures.push(
      "AiError: 3040: Capacity temporarily exceeded, please try again.",
      "AiError: 5006: Error: required properties at '/messages/0' are 'content'",
      "InferenceUpstreamError: internal server error",
    );
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await g2.fetch(
        "/v1/chat/completions",
        post({ model: `cf/${LLAMA}`, messages: [{ role: "user", content: "x" }] }, k2),
      );
      statuses.push(res.status);
      if (i === 0) expect(((await res.json()) as { error: Json }).error.code).toBe("upstream_rate_limited");
    }
    expect(statuses).toEqual([429, 400, 502]);
    expect(ai.calls).toHaveLength(3);

    const none = await setup(null);
    const missing = await none.g.fetch(
      "/v1/chat/completions",
      post({ model: `cf/${LLAMA}`, messages: [{ role: "user", content: "x" }] }, none.key),
    );
    expect(missing.status).toBe(503);
    const err = ((await missing.json()) as { error: Json }).error;
    expect(err.message).toContain('[ai] binding = "AI"');
    expect(err.code).toBe("workers_ai_binding_missing");
  });
});
