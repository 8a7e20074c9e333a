import { afterEach, describe, expect, it, vi } from "vitest";
import { formatUsd } from "../../src/spend/money";
import { gateway, post } from "../helpers/gateway";
import { installUpstreams } from "../helpers/upstream";
import { flushSpend, getWith, newKey, rowsOf } from "./ledger-helpers";

const CONFIG = {
  providers: {
    mock: { type: "mock" },
    slow: { type: "mock", chunkDelayMs: 5 },
    openai: { type: "openai", apiKey: "env:OPENAI_KEY" },
  },
  models: {
    smart: {
      targets: [
        { provider: "mock", model: "fail-503" },
        { provider: "mock", model: "echo" },
      ],
    },
  },
  // USD per million tokens: input 2.5, cached 1.25, output 10 → pico-USD per token 2_500_000 and 10_000_000.
  pricing: { echo: { input: 2.5, cachedInput: 1.25, output: 10 } },
};
const msg = (content: string) => [{ role: "user", content }];
const gw = () => gateway(CONFIG, { OPENAI_KEY: "sk-o" });
const hand = (input: number, output: number) => input * 2_500_000 + output * 10_000_000;

interface SpendJson {
  total: Record<string, number | string>;
  groups: ({ group: string | null } & Record<string, number | string>)[];
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Mixed traffic for one key: priced, table-priced, unpriced, failed, fallback, streamed whole and cut. */
async function traffic() {
  installUpstreams()
    .add("https://api.openai.com", { apiKey: "sk-o" })
    .reply({ content: "ok", usage: { prompt_tokens: 1000, completion_tokens: 100 } });
  vi.spyOn(console, "log").mockImplementation(() => {});
  const g = gw();
  const key = await newKey(g, { name: "mixed", team: "search" });
  const headers: (string | null)[] = [];
  const send = async (body: Record<string, unknown>, extra: Record<string, string> = {}) => {
    const res = await g.fetch("/v1/chat/completions", post(body, key.secret, extra));
    headers.push(res.headers.get("x-sluice-cost-usd"));
    return res;
  };
  const echo = await send(
    { model: "mock/echo", messages: msg("hello there"), user: "u-42" },
    {
      "x-sluice-metadata": '{"feature":"search"}',
    },
  );
  const echoBody = (await echo.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  await (await send({ model: "openai/gpt-4.1-mini", messages: msg("x") })).text();
  await (await send({ model: "mock/lorem", messages: msg("x") })).text();
  const failed = await send({ model: "mock/fail-503", messages: msg("x") });
  await failed.text();
  await (await send({ model: "smart", messages: msg("fallback") })).text();
  const whole = await send({
    model: "mock/echo",
    messages: msg("stream me whole"),
    stream: true,
    stream_options: { include_usage: true },
  });
  const wholeText = await whole.text();
  const cut = await send({ model: "slow/echo", messages: msg("one two three four five six"), stream: true });
  const reader = (cut.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await reader.cancel();
  await g.settle();
  await flushSpend();
  return { g, key, headers, echoBody, failed, wholeText };
}

describe("The spend ledger end to end", () => {
  it("writes exactly one row per call, with costs equal to the header and to hand-computed prices", async () => {
    const { key, headers, echoBody, failed, wholeText } = await traffic();
    expect(failed.status).toBe(503);
    const rows = await rowsOf(key.id);
    expect(rows).toHaveLength(7);
    const byModel = (m: string) => rows.filter((r) => r.model === m);

    const [echo] = byModel("mock/echo").filter((r) => r.stream === 0);
    expect(echo?.cost_pusd).toBe(hand(echoBody.usage.prompt_tokens, echoBody.usage.completion_tokens));
    expect(formatUsd(echo?.cost_pusd ?? -1)).toBe(headers[0]);
    expect(echo).toMatchObject({ team: "search", end_user: "u-42", metadata: '{"feature":"search"}' });
    expect(echo).toMatchObject({
      status: 200,
      cache: "BYPASS",
      saved_pusd: 0,
      target_index: 0,
      completed: 1,
    });
    expect(echo?.ttfb_ms).toBeGreaterThanOrEqual(0);

    const [gpt] = byModel("openai/gpt-4.1-mini");
    expect(gpt?.cost_pusd).toBe(1000 * 400_000 + 100 * 1_600_000);
    expect(formatUsd(gpt?.cost_pusd ?? -1)).toBe(headers[1]);

    expect(byModel("mock/lorem")[0]).toMatchObject({ cost_pusd: null, status: 200 });
    expect(headers[2]).toBeNull();

    expect(byModel("mock/fail-503")[0]).toMatchObject({
      status: 503,
      cost_pusd: 0,
      completed: 0,
      provider: null,
      ttfb_ms: null,
    });

    const [fallback] = byModel("smart");
    expect(fallback).toMatchObject({ provider: "mock", upstream_model: "echo", target_index: 1, retries: 1 });
    expect(formatUsd(fallback?.cost_pusd ?? -1)).toBe(headers[4]);

    const [streamed] = byModel("mock/echo").filter((r) => r.stream === 1);
    const usage = JSON.parse(
      wholeText
        .split("\n")
        .filter((l) => l.includes('"usage":{'))
        .at(-1)
        ?.slice(6) ?? "{}",
    ).usage as { prompt_tokens: number; completion_tokens: number };
    expect(streamed).toMatchObject({ completed: 1, input_tokens: usage.prompt_tokens });
    expect(streamed?.cost_pusd).toBe(hand(usage.prompt_tokens, usage.completion_tokens));
    expect(headers[5]).toBeNull(); // streams carry no cost header; the row has it

    // Cut before its usage chunk: what streamed is estimated (input "user" + 27 characters at ~4 a token, plus
    // 4 for the message) and priced.
    const [cutRow] = byModel("slow/echo");
    expect(cutRow).toMatchObject({ stream: 1, completed: 0, status: 200, input_tokens: 8 + 4 });
    expect(cutRow?.cost_pusd).toBe(hand(cutRow?.input_tokens ?? -1, cutRow?.output_tokens ?? -1));
  });

  it("answers /admin/spend with totals equal to the rows' sum, the same over rollups and raw rows, CSV as JSON", async () => {
    const { g, key } = await traffic();
    const rows = await rowsOf(key.id);
    const sum = rows.reduce((s, r) => s + BigInt(r.cost_pusd ?? 0), 0n);
    const now = Date.now();
    const today = new Date(now).toISOString().slice(0, 10);
    const tomorrow = new Date(now + 86_400_000).toISOString().slice(0, 10);
    // Whole days: read from the daily rollups. A range ending a minute from now: today's raw rows.
    const ranges = [
      `from=${today}&to=${tomorrow}`,
      `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`,
    ];
    for (const range of ranges) {
      const res = await getWith(g, `/admin/spend?${range}&key=${key.id}&group_by=model`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as SpendJson;
      expect(body.total).toMatchObject({
        requests: 7,
        errors: 1,
        unpriced: 1, // mock/lorem
        costPicoUsd: sum.toString(),
        costUsd: Number(formatUsd(sum)),
        inputTokens: rows.reduce((s, r) => s + r.input_tokens, 0),
        outputTokens: rows.reduce((s, r) => s + r.output_tokens, 0),
      });
      expect(body.groups.map((x) => x.group).sort()).toEqual(
        ["mock/echo", "mock/fail-503", "mock/lorem", "openai/gpt-4.1-mini", "slow/echo", "smart"].sort(),
      );
      expect(body.groups.find((x) => x.group === "mock/echo")?.requests).toBe(2);

      const csv = await (
        await getWith(g, `/admin/spend?${range}&key=${key.id}&group_by=model&format=csv`)
      ).text();
      const [head, ...lines] = csv.trim().split("\r\n");
      const cols = (head ?? "").split(",");
      expect(lines).toHaveLength(body.groups.length);
      lines.forEach((line, i) => {
        const cells = Object.fromEntries(line.split(",").map((v, j) => [cols[j], v]));
        const grp = body.groups[i];
        expect(cells.group).toBe(grp?.group ?? "");
        expect(cells.costUsd).toBe(formatUsd(BigInt(grp?.costPicoUsd ?? -1)));
        expect(Number(cells.requests)).toBe(grp?.requests);
        expect(Number(cells.inputTokens)).toBe(grp?.inputTokens);
      });
    }
  });

  it("groups by team, provider and day", async () => {
    const { g, key } = await traffic();
    const q = `/admin/spend?key=${key.id}&group_by=`;
    const team = (await (await getWith(g, `${q}team`)).json()) as SpendJson;
    expect(team.groups).toMatchObject([{ group: "search", requests: 7 }]);
    const prov = (await (await getWith(g, `${q}provider`)).json()) as SpendJson;
    expect(Object.fromEntries(prov.groups.map((x) => [String(x.group), x.requests]))).toEqual({
      mock: 4,
      openai: 1,
      slow: 1,
      null: 1, // the failed call: no provider served it
    });
    const day = (await (await getWith(g, `${q}day`)).json()) as SpendJson;
    expect(day.groups).toMatchObject([{ group: new Date().toISOString().slice(0, 10), requests: 7 }]);
  });

  it("refuses /admin/spend without the admin token, and with a Sluice key", async () => {
    const g = gw();
    const key = await newKey(g);
    expect((await getWith(g, "/admin/spend", null)).status).toBe(401);
    expect((await getWith(g, "/admin/spend", key.secret)).status).toBe(401);
    expect((await getWith(g, "/admin/spend", "wrong-token-0123456789")).status).toBe(401);
  });

  it("shows a key only its own spend on /v1/spend", async () => {
    const { g, key } = await traffic();
    const other = await newKey(g, { name: "other" });
    await (
      await g.fetch("/v1/chat/completions", post({ model: "mock/echo", messages: msg("mine") }, other.secret))
    ).text();
    await g.settle();
    await flushSpend();
    const mine = (await (await getWith(g, "/v1/spend?group_by=key", other.secret)).json()) as SpendJson;
    expect(mine.groups).toMatchObject([{ group: other.id, requests: 1 }]);
    expect(mine.total.requests).toBe(1);
    const theirs = await getWith(g, `/v1/spend?key=${key.id}`, other.secret);
    expect(theirs.status).toBe(400);
    expect((await getWith(g, "/v1/spend", null)).status).toBe(401);
  });

  it("leaves a row for calls refused before any provider: unknown model, forbidden model, bad metadata", async () => {
    const g = gw();
    const key = await newKey(g, { name: "refused", models: ["mock/*"] });
    const call = (model: string, headers: Record<string, string> = {}) =>
      g.fetch("/v1/chat/completions", post({ model, messages: msg("x") }, key.secret, headers));
    expect((await call("nope/x")).status).toBe(404);
    expect((await call("openai/gpt-4.1-mini")).status).toBe(403);
    expect((await call("mock/echo", { "x-sluice-metadata": "{bad" })).status).toBe(400);
    await g.settle();
    await flushSpend();
    const rows = await rowsOf(key.id);
    expect(rows.map((r) => [r.model, r.status, r.error_code, r.cost_pusd, r.provider]).sort()).toEqual(
      [
        ["mock/echo", 400, "invalid_request", 0, null],
        ["nope/x", 404, "model_not_found", 0, null],
        ["openai/gpt-4.1-mini", 403, "model_not_allowed", 0, null],
      ].sort(),
    );
  });

  it("rejects bad spend queries and bad metadata with a 400 naming the parameter", async () => {
    const g = gw();
    const key = await newKey(g);
    for (const [q, param] of [
      ["from=yesterday", "from"],
      ["group_by=color", "group_by"],
      ["from=2026-02-01&to=2026-01-01", "from"],
      ["colour=red", "colour"],
    ]) {
      const res = await getWith(g, `/admin/spend?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "mock/echo", messages: msg("x") }, key.secret, { "x-sluice-metadata": "[1,2]" }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("x-sluice-metadata");
  });
});
