import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, type Gateway, gateway } from "../helpers/gateway";
import { type FakeUpstream, type Fault, installUpstreams } from "../helpers/upstream";
import { flushSpend, newKey, rowsOf } from "../spend/ledger-helpers";

/**
 * The chaos suite: every fault of the strict OpenAI fake (test/helpers/upstream.ts: statuses by `failNext`, the
 * rest by `faultNext`) against an alias of two targets (the faulty one first, a healthy backup) and against
 * the faulty target alone, for JSON and streamed calls on both inbound formats (OpenAI chat and Anthropic
 * messages). Each case checks who served, how many attempts were made, what the client read (the documented
 * error, in its format's shape, when nothing could answer) and that the call left exactly one spend row saying
 * what happened. Timeouts are 300 ms so the healthy backup never hits them; a fault that hangs never answers,
 * so no case depends on a race.
 */

type Json = Record<string, unknown>;
type Format = "chat" | "messages";

afterEach(() => {
  vi.restoreAllMocks();
});

const LIMITS = { timeoutMs: 300, firstTokenTimeoutMs: 300, idleTimeoutMs: 300 };

async function setup() {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  const primary = net.add("https://primary.test", { apiKey: "k-primary" });
  const backup = net.add("https://backup.test", { apiKey: "k-backup" });
  primary.reply({ content: "from primary" });
  backup.reply({ content: "from backup" });
  const g = gateway({
    providers: {
      primary: { type: "openai-compatible", baseUrl: "https://primary.test/v1", apiKey: "k-primary" },
      backup: { type: "openai-compatible", baseUrl: "https://backup.test/v1", apiKey: "k-backup" },
    },
    models: {
      pair: {
        targets: [
          { provider: "primary", model: "m1" },
          { provider: "backup", model: "m2" },
        ],
        ...LIMITS,
      },
      alone: { targets: [{ provider: "primary", model: "m1" }], ...LIMITS },
    },
  });
  const key = await newKey(g, { name: "chaos" });
  return { g, key, primary, backup };
}

/** One call in `format`, to `model`, streamed or not. */
function call(g: Gateway, secret: string, format: Format, model: string, stream: boolean) {
  const messages = [{ role: "user", content: "hi" }];
  const body = format === "chat" ? { model, messages, stream } : { model, messages, stream, max_tokens: 64 };
  return g.fetch(format === "chat" ? "/v1/chat/completions" : "/v1/messages", {
    method: "POST",
    headers: {
      ...(format === "chat" ? { authorization: `Bearer ${secret}` } : { "x-api-key": secret }),
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
    },
    body: JSON.stringify(body),
  });
}

/** The text a JSON or streamed answer carries, and the error event a stream ended with (null if none). */
async function readAnswer(res: Response, format: Format, stream: boolean) {
  if (!stream) {
    const j = (await res.json()) as Json;
    const text =
      format === "chat"
        ? String((((j.choices as Json[])[0] as Json).message as Json).content)
        : ((j.content as Json[]) ?? []).map((b) => String(b.text ?? "")).join("");
    return { text, streamError: null as Json | null };
  }
  const raw = await res.text();
  expect(raw.endsWith("\n\n")).toBe(true);
  let text = "";
  let streamError: Json | null = null;
  for (const event of raw.split("\n\n").filter(Boolean)) {
    const data = event
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => l.slice(6))
      .join("\n");
    if (data === "[DONE]" || data === "") continue;
    const d = JSON.parse(data) as Json;
    if (format === "chat") {
      if (d.error) streamError = d.error as Json;
      const delta = ((d.choices as Json[] | undefined)?.[0]?.delta ?? {}) as Json;
      if (typeof delta.content === "string") text += delta.content;
    } else {
      if (d.type === "error") streamError = d.error as Json;
      if (d.type === "content_block_delta") text += String((d.delta as Json).text ?? "");
    }
  }
  return { text, streamError };
}

/** The error body's code, in the format's shape (OpenAI `error.code`, Anthropic `error.type` + message). */
async function errorOf(res: Response, format: Format) {
  const j = (await res.json()) as Json;
  if (format === "messages") {
    expect(j.type).toBe("error");
    return { code: String((j.error as Json).type), message: String((j.error as Json).message) };
  }
  return { code: String((j.error as Json).code), message: String((j.error as Json).message) };
}

async function onlyRow(g: Gateway, keyId: string) {
  await g.settle();
  await flushSpend();
  const rows = await rowsOf(keyId);
  expect(rows).toHaveLength(1);
  return rows[0] as NonNullable<(typeof rows)[number]>;
}

/** Faults the backup answers for (nothing reached the client yet), and what the faulty target alone answers. */
interface Before {
  name: string;
  inject(f: FakeUpstream): void;
  streamOnly?: boolean;
  jsonOnly?: boolean;
  /** The faulty target alone: the status and code (OpenAI `code`; the Anthropic shape maps it by status). */
  alone: { status: number; code: string };
}

const fault =
  (f: Fault): Before["inject"] =>
  (u) => {
    u.faultNext(1, f);
  };

const BEFORE: Before[] = [
  {
    name: "500",
    inject: (u) => u.failNext(1, { status: 500, message: "boom" }),
    alone: { status: 500, code: "upstream_error" },
  },
  {
    name: "429 with Retry-After",
    inject: (u) => u.failNext(1, { status: 429, message: "slow down", retryAfter: "7" }),
    alone: { status: 429, code: "upstream_rate_limited" },
  },
  {
    name: "529 overloaded",
    inject: (u) => u.failNext(1, { status: 529, message: "Overloaded" }),
    alone: { status: 529, code: "upstream_error" },
  },
  { name: "a hang (no headers)", inject: fault("hang"), alone: { status: 504, code: "upstream_timeout" } },
  {
    name: "malformed JSON",
    inject: fault("malformedJson"),
    alone: { status: 502, code: "upstream_invalid_response" },
  },
  {
    name: "an HTML 200",
    inject: fault("html200"),
    alone: { status: 502, code: "upstream_invalid_response" },
  },
  {
    name: "a slow first token",
    inject: fault("stallBeforeFirstToken"),
    streamOnly: true,
    alone: { status: 504, code: "upstream_timeout" },
  },
  {
    name: "a stream cut before its first token",
    inject: fault("cutBeforeFirstToken"),
    streamOnly: true,
    alone: { status: 502, code: "upstream_invalid_response" },
  },
];

/** Anthropic's error types by status, as the /v1/messages error shape writes them (src/http/errors.ts). */
const ANTHROPIC_TYPE: Record<number, string> = {
  429: "rate_limit_error",
  500: "api_error",
  502: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const cases = (list: Before[]) =>
  list.flatMap((f) =>
    (["chat", "messages"] as const).flatMap((format) =>
      [false, true]
        .filter((stream) => (stream ? !f.jsonOnly : !f.streamOnly))
        .map((stream) => ({
          ...f,
          format,
          stream,
          label: `${f.name}, ${format}, ${stream ? "stream" : "JSON"}`,
        })),
    ),
  );

describe("faults before anything reached the client: the backup answers, invisibly", () => {
  it.each(cases(BEFORE))("$label", async ({ inject, format, stream }) => {
    const { g, key, primary, backup } = await setup();
    inject(primary);
    const res = await call(g, key.secret, format, "pair", stream);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("backup");
    expect(res.headers.get("x-sluice-fallback-index")).toBe("1");
    expect(res.headers.get("x-sluice-retries")).toBe("1");
    const { text, streamError } = await readAnswer(res, format, stream);
    expect(text).toBe("from backup");
    expect(streamError).toBeNull();
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    const row = await onlyRow(g, key.id);
    expect(row).toMatchObject({ provider: "backup", target_index: 1, retries: 1, status: 200, completed: 1 });
  });
});

describe("the same faults with no backup: the documented error, in the client's shape", () => {
  it.each(cases(BEFORE))("$label", async ({ inject, format, stream, alone }) => {
    const { g, key, primary } = await setup();
    inject(primary);
    const res = await call(g, key.secret, format, "alone", stream);
    expect(res.status).toBe(alone.status);
    const err = await errorOf(res, format);
    expect(err.code).toBe(format === "chat" ? alone.code : ANTHROPIC_TYPE[alone.status]);
    if (alone.code === "upstream_rate_limited") expect(res.headers.get("retry-after")).toBe("7");
    expect(primary.requests).toHaveLength(1);
    const row = await onlyRow(g, key.id);
    expect(row).toMatchObject({ status: alone.status, completed: 0, provider: null });
    expect(row.error_code).toBe(alone.code);
  });
});

describe("faults after the first token: the stream ends with an error event in the client's format", () => {
  const after: { name: string; fault: Fault; code: string; anthropicType: string }[] = [
    {
      name: "a stream cut after its first token",
      fault: "cutAfterFirstToken",
      code: "upstream_stream_cut",
      anthropicType: "api_error",
    },
    {
      name: "a drip that stops (idle timeout)",
      fault: "stallAfterFirstToken",
      code: "upstream_timeout",
      anthropicType: "timeout_error",
    },
  ];
  it.each(
    after.flatMap((a) =>
      (["chat", "messages"] as const).map((format) => ({ ...a, format, label: `${a.name}, ${format}` })),
    ),
  )("$label", async ({ fault: f, format, code, anthropicType }) => {
    const { g, key, primary, backup } = await setup();
    primary.reply({ content: "first second third" });
    primary.faultNext(1, f);
    const res = await call(g, key.secret, format, "pair", true);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("primary");
    const { text, streamError } = await readAnswer(res, format, true);
    expect(text).toBe("first ");
    expect(streamError).toMatchObject(format === "chat" ? { code } : { type: anthropicType });
    // Something reached the client: no failover, the backup never asked.
    expect(backup.requests).toHaveLength(0);
    const row = await onlyRow(g, key.id);
    expect(row).toMatchObject({ provider: "primary", completed: 0, error_code: code });
  });
});

describe("the deadline", () => {
  it("ends a call whose every target hangs at its deadline, however many retries remain, with a 504", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const net = installUpstreams();
    const slow = net.add("https://slow.test", { apiKey: "k" });
    slow.faultNext(50, "hang");
    const g = gateway({
      providers: { slow: { type: "openai-compatible", baseUrl: "https://slow.test/v1", apiKey: "k" } },
      models: {
        hung: {
          targets: [
            { provider: "slow", model: "a" },
            { provider: "slow", model: "b" },
          ],
          retry: { attempts: 5, backoffMs: 0 },
          timeoutMs: 10_000,
          deadlineMs: 250,
        },
      },
    });
    const key = await newKey(g, { name: "deadline" });
    const started = Date.now();
    const res = await call(g, key.secret, "chat", "hung", false);
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect((await errorOf(res, "chat")).message).toMatch(/deadline of 250 ms/);
    expect(took).toBeGreaterThanOrEqual(240);
    expect(took).toBeLessThan(2_000);
    // One attempt hung until the deadline: no retry was started after it.
    expect(slow.requests).toHaveLength(1);
    const row = await onlyRow(g, key.id);
    expect(row).toMatchObject({ status: 504, error_code: "upstream_timeout" });
  });
});

describe("the circuit breaker, through the gateway", () => {
  it("skips a target after its failures open the breaker, without calling it, until an admin closes it", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const net = installUpstreams();
    const flaky = net.add("https://flaky.test", { apiKey: "k" });
    const backup = net.add("https://backup.test", { apiKey: "k" });
    // Its own model name: breaker state is shared by every test using the same provider/model.
    const flakyModel = `m-${crypto.randomUUID()}`;
    const g = gateway({
      providers: {
        flaky: { type: "openai-compatible", baseUrl: "https://flaky.test/v1", apiKey: "k" },
        backup: { type: "openai-compatible", baseUrl: "https://backup.test/v1", apiKey: "k" },
      },
      models: {
        guarded: {
          targets: [
            { provider: "flaky", model: flakyModel },
            { provider: "backup", model: "b" },
          ],
          breaker: { failures: 2, windowMs: 60_000, cooldownMs: 60_000 },
        },
      },
    });
    const key = await newKey(g, { name: "breaker" });
    flaky.failNext(2, { status: 503, message: "down" });
    for (let i = 0; i < 2; i++) {
      const res = await call(g, key.secret, "chat", "guarded", false);
      expect(res.headers.get("x-sluice-provider")).toBe("backup");
      await res.text();
    }
    expect(flaky.requests).toHaveLength(2);
    // Open: the third call goes straight to the backup, the flaky target is not asked.
    const third = await call(g, key.secret, "chat", "guarded", false);
    expect(third.headers.get("x-sluice-provider")).toBe("backup");
    expect(third.headers.get("x-sluice-retries")).toBe("0");
    await third.text();
    expect(flaky.requests).toHaveLength(2);
    expect(backup.requests).toHaveLength(3);
    // Closed by hand: the next call goes to the flaky target again (which has recovered).
    const close = await g.fetch(`/admin/breakers/flaky/${flakyModel}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ state: "closed" }),
    });
    expect(close.status).toBe(200);
    const fourth = await call(g, key.secret, "chat", "guarded", false);
    expect(fourth.headers.get("x-sluice-provider")).toBe("flaky");
    await fourth.text();
    expect(flaky.requests).toHaveLength(3);
    await g.settle();
  });
});
