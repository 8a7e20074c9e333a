import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/load";
import type { Env } from "../../src/env";
import { fromMessagesRequest, messagesRequestSchema } from "../../src/formats/anthropic";
import { anthropicMessages, openAIChat } from "../../src/inbound";
import { deferredCall } from "../../src/inbound/deferred";
import type { InboundFormat } from "../../src/inbound/types";
import type { KeyRecord } from "../../src/keys/store";
import type { LimiterObjects } from "../../src/limits/interface";
import { runCall } from "../../src/pipeline/call";
import type { CallInput } from "../../src/pipeline/input";
import { buildServices, type Services } from "../../src/pipeline/services";
import type { Stage, StageCall, StageOutcome } from "../../src/pipeline/stage";
import { memorySink } from "../../src/spend/sink/memory";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { installUpstreams } from "../helpers/upstream";
import { flushSpend, rowsOf } from "../spend/ledger-helpers";

afterEach(() => vi.restoreAllMocks());

/** The pipeline called as a background job or a test would: no Hono, no HTTP, services built by hand. */

const KEY: KeyRecord = {
  id: "key_pipeline",
  name: "pipeline",
  team: null,
  models: null,
  metadata: {},
  prefix: "sk-sluice-pipe",
  createdAt: "2026-12-01T00:00:00.000Z",
  expiresAt: null,
  revokedAt: null,
  limits: { rpm: null, tpm: null, maxConcurrent: null, budget: null },
  limitMode: null,
  shards: 1,
  browserOrigins: null,
  teamLimits: null,
};

function input(json: unknown, headers: Record<string, string> = {}): CallInput {
  return {
    requestId: `req_${crypto.randomUUID().replaceAll("-", "")}`,
    clientRequestId: null,
    key: KEY,
    token: null,
    headers: new Headers(headers),
    json,
    raw: JSON.stringify(json),
    query: "",
    signal: new AbortController().signal,
  };
}

/** Services over the test bindings (the repo's default config: mock providers), recording into `records`. */
function services(stages: Stage[] = []) {
  const ctx = createExecutionContext();
  const sink = memorySink();
  const base = buildServices(env as unknown as Env, loadConfig(env as unknown as Env), ctx);
  const s: Services = { ...base, stages, record: sink.record };
  return { s, records: sink.records, done: () => waitOnExecutionContext(ctx) };
}

const hello = { model: "mock/echo", messages: [{ role: "user", content: "hello" }] };

describe("runCall, without Hono", () => {
  it("answers an OpenAI chat call and records it through the services' spend sink", async () => {
    const { s, records, done } = services();
    const res = await runCall(s, openAIChat, input(hello));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("mock");
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe("You said: hello");
    await done();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      keyId: "key_pipeline",
      model: "mock/echo",
      status: 200,
      completed: true,
    });
  });

  it("writes the same call in Anthropic's format through another inbound format", async () => {
    const { s, done } = services();
    const res = await runCall(s, anthropicMessages, input({ ...hello, max_tokens: 20 }));
    const body = (await res.json()) as { type: string; content: { text: string }[] };
    expect(body.type).toBe("message");
    expect(body.content[0]?.text).toBe("You said: hello");
    await done();
  });

  it("lets a stage answer before the upstream, recorded at cost 0, and shows later answers to every stage", async () => {
    const seen: { call: StageCall; outcome: StageOutcome }[] = [];
    const canned: Stage = {
      name: "canned",
      async before(call) {
        // The canonical form of the Anthropic request (its text as a content part).
        if (!JSON.stringify(call.body.messages).includes("cached?")) return null;
        const text = JSON.stringify({
          id: "chatcmpl-canned",
          object: "chat.completion",
          created: 1,
          model: "echo",
          choices: [
            { index: 0, message: { role: "assistant", content: "from the stage" }, finish_reason: "stop" },
          ],
          usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
        });
        return { text, headers: { "x-sluice-cache": "HIT" }, cache: "HIT", savedPicoUsd: 7 };
      },
      async after(call, outcome) {
        seen.push({ call, outcome });
      },
    };
    const { s, records, done } = services([canned]);
    const hit = await runCall(
      s,
      anthropicMessages,
      input({ model: "mock/echo", max_tokens: 20, messages: [{ role: "user", content: "cached?" }] }),
    );
    expect(hit.headers.get("x-sluice-cache")).toBe("HIT");
    expect(((await hit.json()) as { content: { text: string }[] }).content[0]?.text).toBe("from the stage");
    const miss = await runCall(s, openAIChat, input(hello));
    expect(miss.status).toBe(200);
    await miss.text();
    await done();
    expect(records.map((r) => r.costPicoUsd === 0 && r.provider === null)).toEqual([true, false]);
    expect(records.map((r) => [r.cache, r.savedPicoUsd])).toEqual([
      ["HIT", 7],
      ["BYPASS", 0],
    ]);
    // `after` ran for the upstream-served call only, with its canonical answer.
    expect(seen).toHaveLength(1);
    expect(seen[0]?.call.route.targets[0]?.model).toBe("echo");
    expect(seen[0]?.outcome.completed).toBe(true);
    expect(JSON.parse(seen[0]?.outcome.text ?? "{}").choices[0].message.content).toBe("You said: hello");
  });

  it("throws a refusal for the caller to shape, after recording it", async () => {
    const { s, records, done } = services();
    await expect(runCall(s, openAIChat, input({ ...hello, model: "nope/none" }))).rejects.toMatchObject({
      code: "model_not_found",
    });
    await expect(runCall(s, openAIChat, input({ model: 1 }))).rejects.toMatchObject({
      code: "invalid_request",
    });
    await done();
    // The unknown model leaves a row; a body that does not parse does not (no model to count it under).
    expect(records.map((r) => r.errorCode)).toEqual(["model_not_found"]);
  });

  it("asks the limiters through the services' port: a refusal there is a 429 before anything is sent", async () => {
    const asked: string[] = [];
    const refusing: LimiterObjects = {
      acquire: async (name) => {
        asked.push(name);
        return { ok: false, code: "rate_limit_exceeded", message: "No.", retryAfterMs: 2000 };
      },
      settle: async () => {},
      release: async () => {},
      usage: async () => {
        throw new Error("not used");
      },
    };
    const { s, records, done } = services();
    const limited: KeyRecord = { ...KEY, limits: { ...KEY.limits, rpm: 1 }, limitMode: "strict" };
    const call = runCall({ ...s, limiters: refusing }, openAIChat, { ...input(hello), key: limited });
    await expect(call).rejects.toMatchObject({
      code: "rate_limit_exceeded",
      headers: { "retry-after": "2" },
    });
    await done();
    expect(asked).toEqual(["limits:key:key_pipeline"]);
    expect(records.map((r) => [r.status, r.errorCode])).toEqual([[429, "rate_limit_exceeded"]]);
  });

  it("asks for waitUntil only for work left after the answer: none for a row that joins an open batch", async () => {
    // The real ledger client, over an env object of its own so that the first call opens a fresh batch.
    const own = { ...env } as unknown as Env;
    const waits: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => waits.push(p) };
    const s = buildServices(own, loadConfig(own), ctx);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await runCall(s, openAIChat, input(hello));
      answers.push(res.status);
      await res.text();
      // The first call opened the batch and keeps the isolate until it is sent; the others joined it.
      expect(waits).toHaveLength(1);
    }
    expect(answers).toEqual([200, 200, 200]);
    // That one promise carried every row: once it settles, all three are in the ledger.
    await Promise.all(waits);
    await flushSpend();
    expect((await rowsOf(KEY.id)).map((r) => r.status)).toEqual([200, 200, 200]);
  });
});

describe("runCall with a deferred canonical form (inbound/deferred.ts)", () => {
  it("never makes it for a call passed through, past a stage that does not act on it, and makes it once for a call translated", async () => {
    const net = installUpstreams();
    const claude = net.mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-up"));
    const cfgEnv = {
      ...env,
      GATEWAY_CONFIG: JSON.stringify({
        providers: { claude: { type: "anthropic", apiKey: "sk-ant-up" }, mock: { type: "mock" } },
      }),
    } as unknown as Env;
    const ctx = createExecutionContext();
    const sink = memorySink();
    // A stage that acts on no call here (as the cache does for an alias that does not cache).
    const asked: string[] = [];
    const watching: Stage = {
      name: "watching",
      before: async (call) => {
        asked.push(call.route.requested);
        return null;
      },
    };
    const s: Services = {
      ...buildServices(cfgEnv, loadConfig(cfgEnv), ctx),
      stages: [watching],
      record: sink.record,
    };
    let made = 0;
    // Anthropic's own format, its translation counted.
    const counting: InboundFormat = {
      ...anthropicMessages,
      parse: (json) => {
        const req = messagesRequestSchema.parse(json);
        return deferredCall({ model: req.model, stream: false }, () => {
          made++;
          return fromMessagesRequest(req);
        });
      },
    };
    const ask = {
      max_tokens: 20,
      metadata: { user_id: "u-1" },
      tools: [{ name: "Read", input_schema: { type: "object" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
    };
    const passed = await runCall(s, counting, input({ ...ask, model: "claude/claude-sonnet-4-5" }));
    expect(passed.status).toBe(200);
    expect(passed.headers.get("x-sluice-provider")).toBe("claude");
    await passed.text();
    expect(claude.requests).toHaveLength(1);
    expect(made).toBe(0);
    const translated = await runCall(s, counting, input({ ...ask, model: "mock/echo" }));
    // The mock calls the tool it was given: the translation carried it.
    expect(((await translated.json()) as { content: Record<string, unknown>[] }).content[0]).toMatchObject({
      type: "tool_use",
      name: "Read",
    });
    expect(made).toBe(1);
    expect(asked).toEqual(["claude/claude-sonnet-4-5", "mock/echo"]);
    await waitOnExecutionContext(ctx);
    // Both recorded with what the call knew up front: the client's model.
    expect(sink.records.map((r) => [r.model, r.provider, r.status])).toEqual([
      ["claude/claude-sonnet-4-5", "claude", 200],
      ["mock/echo", "mock", 200],
    ]);
  });
});
