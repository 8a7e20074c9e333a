import type Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it, vi } from "vitest";
import { replaceTopLevelString } from "../../src/formats/json-text";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";
import { anthropicFor } from "../helpers/sdk";
import { installUpstreams } from "../helpers/upstream";

afterEach(() => vi.restoreAllMocks());

const SYSTEM: Anthropic.TextBlockParam[] = [
  { type: "text", text: "You are a coding agent." },
  { type: "text", text: "Tools are listed below.", cache_control: { type: "ephemeral" } },
  { type: "text", text: "Project notes: none.", cache_control: { type: "ephemeral", ttl: "1h" } },
];
const TOOLS: Anthropic.Tool[] = [
  {
    name: "Read",
    description: "Reads a file",
    input_schema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    cache_control: { type: "ephemeral" },
  },
];

/** A gateway in front of a strict Anthropic fake, the Sluice key, and every request body the client sent. */
async function setup(extra: Record<string, unknown> = {}, baseUrl?: string) {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  const claude = net.mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-up"));
  const openai = net.add("https://api.openai.com", { apiKey: "sk-o" });
  const g = gateway({
    providers: {
      claude: { type: "anthropic", apiKey: "sk-ant-up", ...(baseUrl ? { baseUrl } : {}) },
      openai: { type: "openai", apiKey: "sk-o" },
    },
    models: {
      agent: { targets: [{ provider: "claude", model: "claude-sonnet-4-5" }] },
      resilient: {
        targets: [
          { provider: "claude", model: "claude-sonnet-4-5" },
          { provider: "openai", model: "gpt-4o-mini" },
        ],
      },
    },
    pricing: {
      "claude-sonnet-4-5": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6 },
    },
    ...extra,
  });
  const key = await g.createKey();
  const sent: { path: string; body: string; headers: Headers }[] = [];
  const recording: Gateway = {
    ...g,
    call: async (input, init) => {
      const req = new Request(input, init);
      sent.push({
        path: new URL(req.url).pathname + new URL(req.url).search,
        body: await req.clone().text(),
        headers: req.headers,
      });
      return g.call(req);
    },
  };
  return { g, recording, key, claude, openai, sent };
}

describe("/v1/messages to an Anthropic target, passed through", () => {
  it("sends the SDK's body byte for byte (model aside), its version, betas and query, and none of its credentials", async () => {
    const { recording, key, claude, sent } = await setup();
    const sdk = anthropicFor(recording, key, {
      defaultHeaders: { "anthropic-beta": "context-management-2025-06-27" },
    });
    const answer = await sdk.beta.messages.create({
      model: "agent",
      max_tokens: 64,
      system: SYSTEM,
      tools: TOOLS,
      context_management: { edits: [] },
      messages: [
        {
          role: "user",
          content: [{ type: "text", text: "Read main.ts", cache_control: { type: "ephemeral" } }],
        },
      ],
    } as Parameters<typeof sdk.beta.messages.create>[0]);
    expect((answer as Anthropic.Message).content[0]).toMatchObject({
      type: "text",
      text: "Hello from Claude",
    });
    const up = claude.requests.at(-1);
    const client = sent.at(-1);
    expect(up?.raw).toBe(replaceTopLevelString(client?.body ?? "", "model", "claude-sonnet-4-5"));
    expect(up?.path).toBe(client?.path);
    expect(up?.headers["anthropic-version"]).toBe(client?.headers.get("anthropic-version"));
    expect(up?.headers["anthropic-beta"]).toBe("context-management-2025-06-27");
    // The provider's own key, in the form the client's API version takes.
    expect(up?.headers.authorization ?? `Bearer ${up?.headers["x-api-key"]}`).toBe("Bearer sk-ant-up");
    expect(JSON.stringify(up?.headers)).not.toContain(key);
    // The cache markers on two system blocks, the tool and the last user block, all arrived.
    expect((up?.raw.match(/"cache_control"/g) ?? []).length).toBe(4);

    // Claude Code's `?beta=true` goes along too.
    const body = '{"model":"agent","max_tokens":8,\n "messages":[{"role":"user","content":"Hi"}]}';
    const res = await recording.fetch(
      "/v1/messages?beta=true",
      post(body, key, { "anthropic-version": "2023-06-01" }),
    );
    expect(res.status).toBe(200);
    expect(claude.requests.at(-1)?.path).toBe("/v1/messages?beta=true");
    expect(claude.requests.at(-1)?.raw).toBe(body.replace('"agent"', '"claude-sonnet-4-5"'));
  });

  it("streams the answer as it came and prices cache reads and both kinds of cache writes at their own rates", async () => {
    const { g, key, claude } = await setup();
    claude.reply({
      text: "Done reading.",
      usage: {
        input_tokens: 100,
        output_tokens: 20,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 300,
        cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 100 },
      },
    });
    const sdk = anthropicFor(g, key);
    const stream = sdk.messages.stream({
      model: "agent",
      max_tokens: 64,
      system: SYSTEM,
      messages: [{ role: "user", content: "Go" }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "Done reading." });
    expect(final.usage).toMatchObject({
      input_tokens: 100,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 300,
    });
    await g.settle();
    // 100 × $3 + 1000 × $0.30 + 200 × $3.75 + 100 × $6 + 20 × $15, per million tokens.
    const expected = 100 * 3_000_000 + 1000 * 300_000 + 200 * 3_750_000 + 100 * 6_000_000 + 20 * 15_000_000;
    const rows = await spendRows(g, key);
    expect(rows).toEqual([
      { input: 1400, cached: 1000, written: 300, output: 20, costPicoUsd: String(expected) },
    ]);
  });

  it("falls back to an OpenAI target by translation, answering in Anthropic's format", async () => {
    const { g, key, claude, openai } = await setup();
    claude.failNext(529, "overloaded_error", "Overloaded");
    openai.reply({ content: "From the fallback." });
    const sdk = anthropicFor(g, key);
    const { data, response } = await sdk.messages
      .create({
        model: "resilient",
        max_tokens: 64,
        system: SYSTEM,
        messages: [{ role: "user", content: "Hi" }],
      })
      .withResponse();
    expect(response.headers.get("x-sluice-provider")).toBe("openai");
    expect(data.content).toEqual([{ type: "text", text: "From the fallback." }]);
    const sentUp = openai.chatRequests.at(-1)?.body as { messages: { role: string }[] };
    expect(sentUp.messages[0]?.role).toBe("system");
  });

  it("takes a baseUrl written with /v1", async () => {
    const { g, key, claude } = await setup({}, "https://api.anthropic.com/v1");
    const res = await g.fetch(
      "/v1/messages",
      post({ model: "agent", max_tokens: 8, messages: [{ role: "user", content: "Hi" }] }, key),
    );
    expect(res.status).toBe(200);
    expect(claude.requests.at(-1)?.path).toBe("/v1/messages");
  });
});

describe("POST /v1/messages/count_tokens", () => {
  it("passes through to an Anthropic target and estimates for others, saying which", async () => {
    const { g, key, claude } = await setup({
      models: {
        agent: { targets: [{ provider: "claude", model: "claude-sonnet-4-5" }] },
        gpt: { targets: [{ provider: "openai", model: "gpt-4o-mini" }] },
      },
    });
    const sdk = anthropicFor(g, key);
    const counted = await sdk.messages.countTokens({
      model: "agent",
      messages: [{ role: "user", content: "Count me" }],
    });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(claude.requests.at(-1)?.path).toBe("/v1/messages/count_tokens");
    expect(claude.requests.at(-1)?.body.model).toBe("claude-sonnet-4-5");
    const { data, response } = await sdk.messages
      .countTokens({ model: "gpt", messages: [{ role: "user", content: "Count me too, please" }] })
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-sluice-token-count")).toBe("estimated");
    const wrong = await g.fetch("/v1/messages/count_tokens", {
      method: "GET",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("leaves the blocks to the counting target, and checks them itself for an estimate", async () => {
    const { g, key, claude } = await setup({
      models: {
        agent: { targets: [{ provider: "claude", model: "claude-sonnet-4-5" }] },
        gpt: { targets: [{ provider: "openai", model: "gpt-4o-mini" }] },
      },
    });
    const bad = (model: string) =>
      post({ model, messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] }, undefined, {
        "x-api-key": key,
        "anthropic-version": "2023-06-01",
      });
    const passed = await g.fetch("/v1/messages/count_tokens", bad("agent"));
    expect(passed.status).toBe(400);
    expect(((await passed.json()) as { error: { message: string } }).error.message).toContain(
      "messages.0.content.0.text.text:",
    );
    expect(claude.requests).toHaveLength(1);
    const estimated = await g.fetch("/v1/messages/count_tokens", bad("gpt"));
    expect(estimated.status).toBe(400);
    expect(((await estimated.json()) as { error: { message: string } }).error.message).toContain(
      "messages[0].content[0].text:",
    );
  });
});

/** The key's spend rows' token counts and cost, once the ledger has them. */
async function spendRows(g: Gateway, key: string) {
  let out: { input: number; cached: number; written: number; output: number; costPicoUsd: string }[] = [];
  await vi.waitFor(
    async () => {
      const res = await g.fetch("/v1/spend", { headers: { authorization: `Bearer ${key}` } });
      const t = ((await res.json()) as { total: Record<string, number | string> }).total;
      expect(t.requests).toBe(1);
      out = [
        {
          input: t.inputTokens as number,
          cached: t.cachedInputTokens as number,
          written: t.cacheWriteTokens as number,
          output: t.outputTokens as number,
          costPicoUsd: t.costPicoUsd as string,
        },
      ];
    },
    { timeout: 5000, interval: 100 },
  );
  void ADMIN_TOKEN;
  return out;
}
