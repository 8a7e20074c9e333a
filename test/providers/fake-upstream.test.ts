import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chunksOf, installUpstreams, readSse, type Upstreams } from "../helpers/upstream";

/** The fake upstream itself: it must refuse what the real APIs refuse, or the provider tests prove nothing. */

const OPENAI = "https://api.openai.com/v1/chat/completions";
const user = [{ role: "user", content: "hi" }];

let net: Upstreams;
beforeEach(() => {
  net = installUpstreams();
  net.add("https://api.openai.com", { apiKey: "sk-1" });
  net.azure("https://res.openai.azure.com", { apiKey: "az-1", deployments: { dep: "gpt-4o" } });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function call(
  url: string,
  body: unknown,
  headers: Record<string, string> = { authorization: "Bearer sk-1" },
) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: Record<string, unknown> }).error;
}

describe("the strict OpenAI fake", () => {
  it.each<[string, unknown, number, Record<string, unknown>]>([
    ["a missing model", { messages: user }, 400, { message: "you must provide a model parameter" }],
    ["missing messages", { model: "m" }, 400, { param: "messages", code: "missing_required_parameter" }],
    ["empty messages", { model: "m", messages: [] }, 400, { param: "messages", code: "empty_array" }],
    [
      "an unknown role",
      { model: "m", messages: [{ role: "bot", content: "x" }] },
      400,
      { param: "messages[0].role", code: "invalid_value" },
    ],
    [
      "a tool message without tool_call_id",
      { model: "m", messages: [...user, { role: "tool", content: "x" }] },
      400,
      { param: "messages[1].tool_call_id" },
    ],
    [
      "a tool call left unanswered",
      {
        model: "m",
        messages: [
          ...user,
          {
            role: "assistant",
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
          },
          { role: "user", content: "and?" },
        ],
      },
      400,
      { param: "messages.[1].role" },
    ],
    [
      "stream_options without stream",
      { model: "m", messages: user, stream_options: { include_usage: true } },
      400,
      { param: "stream_options" },
    ],
    ["a body that is not JSON", "{nope", 400, { type: "invalid_request_error" }],
  ])("refuses %s", async (_, body, status, error) => {
    const res = await call(OPENAI, body);
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toMatchObject(error);
  });

  it("refuses a missing or wrong key with a 401 in OpenAI's error shape", async () => {
    const missing = await call(OPENAI, { model: "m", messages: user }, {});
    expect(missing.status).toBe(401);
    expect(Object.keys(await errorOf(missing)).sort()).toEqual(["code", "message", "param", "type"]);
    const wrong = await call(OPENAI, { model: "m", messages: user }, { authorization: "Bearer sk-2" });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe("invalid_api_key");
  });

  it("accepts unknown top-level parameters and answers 404 for an unknown path", async () => {
    expect((await call(OPENAI, { model: "m", messages: user, brand_new_param: 1 })).status).toBe(200);
    expect(
      (await call("https://api.openai.com/v1/chat/completion", { model: "m", messages: user })).status,
    ).toBe(404);
  });

  it("requires embeddings input", async () => {
    const res = await call("https://api.openai.com/v1/embeddings", { model: "e" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).param).toBe("input");
  });

  it("streams a usage-only chunk with empty choices only when include_usage is set", async () => {
    const without = chunksOf(await readSse(await call(OPENAI, { model: "m", messages: user, stream: true })));
    expect(without.some((c) => (c.choices as unknown[]).length === 0)).toBe(false);
    const events = await readSse(
      await call(OPENAI, {
        model: "m",
        messages: user,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(events.at(-1)).toBe("[DONE]");
    expect(JSON.parse(events.at(-2) as string)).toMatchObject({
      choices: [],
      usage: { total_tokens: expect.any(Number) },
    });
  });

  it("rejects calls to an origin no fake serves as a network failure", async () => {
    await expect(call("https://elsewhere.example/v1/chat/completions", {})).rejects.toThrow(TypeError);
    expect(net.unmatched).toEqual(["https://elsewhere.example/v1/chat/completions"]);
  });
});

describe("the strict Azure fake", () => {
  const url = "https://res.openai.azure.com/openai/deployments/dep/chat/completions";

  it("needs api-version (404 Resource not found, as Azure answers)", async () => {
    const res = await call(url, { messages: user }, { "api-key": "az-1" });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).message).toBe("Resource not found");
  });

  it("needs the api-key header, not a Bearer token", async () => {
    const res = await call(
      `${url}?api-version=2024-10-21`,
      { messages: user },
      { authorization: "Bearer az-1" },
    );
    expect(res.status).toBe(401);
  });

  it("takes a body without model, and refuses unknown deployments", async () => {
    expect(
      (await call(`${url}?api-version=2024-10-21`, { messages: user }, { "api-key": "az-1" })).status,
    ).toBe(200);
    const res = await call(
      "https://res.openai.azure.com/openai/deployments/other/chat/completions?api-version=2024-10-21",
      { messages: user },
      { "api-key": "az-1" },
    );
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("DeploymentNotFound");
  });
});
