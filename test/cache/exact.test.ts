import { afterEach, describe, expect, it, vi } from "vitest";
import { post } from "../helpers/gateway";
import { chunksOf, readSse } from "../helpers/upstream";
import { admin, ask, cachingGateway, chat, keyWithId, unique } from "./fixtures";

afterEach(() => vi.restoreAllMocks());

async function spendOf(g: ReturnType<typeof cachingGateway>["g"], key: string) {
  const id = (await (
    await g.fetch("/v1/spend?group_by=cache", { headers: { authorization: `Bearer ${key}` } })
  ).json()) as unknown;
  return id;
}

describe("the exact tier", () => {
  it("answers a repeated question from KV: one upstream call, HIT with its age, cost 0 and the saving recorded", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const q = ask(unique("What is the capital of France?"));
    const first = await chat(g, key, q);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("x-sluice-cache")).toBe("MISS");
    const cost = first.res.headers.get("x-sluice-cost-usd");
    expect(cost).toBe("0.00002"); // 10 in × $1/M + 5 out × $2/M

    const second = await chat(g, key, q);
    expect(second.res.headers.get("x-sluice-cache")).toBe("HIT");
    expect(second.res.headers.get("x-sluice-cache-age")).toMatch(/^\d+$/);
    expect(second.res.headers.get("x-sluice-cost-usd")).toBe("0");
    expect(second.res.headers.get("x-sluice-provider")).toBe("openai");
    expect(second.json().choices).toEqual(first.json().choices);
    expect(second.json().usage).toEqual(first.json().usage);
    expect(openai.chatRequests).toHaveLength(1);

    const spend = await waitForSpend(g, key, 2);
    expect(spend).toEqual([
      { group: "HIT", requests: 1, costPicoUsd: "0", savedPicoUsd: "20000000" },
      { group: "MISS", requests: 1, costPicoUsd: "20000000", savedPicoUsd: "0" },
    ]);
  });

  it("replays a cached answer as a well-formed stream with usage, through the openai SDK", async () => {
    const { openaiFor } = await import("../helpers/sdk");
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const client = openaiFor(g, key);
    const q = {
      ...ask(unique("Name a prime number.")),
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const texts: string[] = [];
    const usages: unknown[] = [];
    const heard: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { data: stream, response } = await client.chat.completions
        .create(q as Parameters<typeof client.chat.completions.create>[0] & { stream: true })
        .withResponse();
      heard.push(response.headers.get("x-sluice-cache") ?? "");
      let text = "";
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.usage) usages.push(chunk.usage);
      }
      texts.push(text);
      await g.settle();
    }
    expect(heard).toEqual(["MISS", "HIT"]);
    expect(texts[1]).toBe(texts[0]);
    expect(texts[0]).toContain("Answer to: Name a prime number.");
    expect(usages).toHaveLength(2);
    expect(usages[1]).toEqual(usages[0]);
    expect(openai.chatRequests).toHaveLength(1);
  });

  it("serves a streamed request from an entry a JSON call filled, without the usage chunk nobody asked for", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const q = ask(unique("Spell cat."));
    await chat(g, key, q);
    const res = await g.fetch("/v1/chat/completions", post({ ...q, stream: true }, key));
    expect(res.headers.get("x-sluice-cache")).toBe("HIT");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(res);
    expect(events[events.length - 1]).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(chunks.some((c) => Array.isArray(c.choices) && c.choices.length === 0)).toBe(false);
    const text = chunks
      .map((c) => (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content ?? "")
      .join("");
    expect(text).toContain("Answer to: Spell cat.");
    expect(openai.chatRequests).toHaveLength(1);
  });

  it("shares one entry between /v1/chat/completions and /v1/messages for the same question", async () => {
    const { anthropicFor } = await import("../helpers/sdk");
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const question = unique("How many legs has a spider?");
    await chat(g, key, ask(question));
    const client = anthropicFor(g, key);
    const { data, response } = await client.messages
      .create({ model: "faq", max_tokens: 50, messages: [{ role: "user", content: question }] })
      .withResponse();
    expect(response.headers.get("x-sluice-cache")).toBe("HIT");
    expect(data.type).toBe("message");
    expect(data.content[0]?.type === "text" && data.content[0].text).toContain(`Answer to: ${question}`);
    expect(data.usage.output_tokens).toBe(5);
    // And a second messages call, streamed, is a hit in Anthropic's event format.
    const stream = client.messages.stream({
      model: "faq",
      max_tokens: 50,
      messages: [{ role: "user", content: question }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]?.type === "text" && final.content[0].text).toContain(`Answer to: ${question}`);
    await g.settle();
    expect(openai.chatRequests).toHaveLength(1);
  });

  it("misses when the system prompt, the tools, the response format or a parameter differ", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const question = unique("Tell me a fact.");
    const base = ask(question);
    const system = (text: string) => ({
      ...base,
      messages: [{ role: "system", content: text }, ...base.messages],
    });
    const tool = (name: string) => ({
      ...base,
      tools: [{ type: "function", function: { name, parameters: { type: "object", properties: {} } } }],
    });
    const variants = [
      system("You are terse."),
      system("You are verbose."),
      tool("lookup"),
      tool("search"),
      { ...base, response_format: { type: "json_object" } },
      { ...base, temperature: 0.2 },
      { ...base, max_tokens: 51 },
      { ...base, some_future_field: true },
    ];
    for (const v of variants) {
      const r = await chat(g, key, v);
      expect(r.res.headers.get("x-sluice-cache"), JSON.stringify(v).slice(0, 120)).toBe("MISS");
    }
    expect(openai.chatRequests).toHaveLength(variants.length);
    // Each variant is now cached on its own.
    expect(
      (await chat(g, key, variants[1] as Record<string, unknown>)).res.headers.get("x-sluice-cache"),
    ).toBe("HIT");
  });

  it("keeps each key's answers to itself, and a team-scoped alias's answers to its team", async () => {
    const { g, openai } = cachingGateway();
    const [a, b] = [await g.createKey({ name: "a" }), await g.createKey({ name: "b" })];
    const q = ask(unique("Who wrote Hamlet?"));
    await chat(g, a, q);
    expect((await chat(g, b, q)).res.headers.get("x-sluice-cache")).toBe("MISS");
    expect(openai.chatRequests).toHaveLength(2);

    const team = unique("red").replace(/\W/g, "");
    const other = unique("blue").replace(/\W/g, "");
    const [r1, r2, b1] = [
      await g.createKey({ name: "r1", team }),
      await g.createKey({ name: "r2", team }),
      await g.createKey({ name: "b1", team: other }),
    ];
    const t = { ...q, model: "team-faq" };
    await chat(g, r1, t);
    expect((await chat(g, r2, t)).res.headers.get("x-sluice-cache")).toBe("HIT");
    expect((await chat(g, b1, t)).res.headers.get("x-sluice-cache")).toBe("MISS");
  });

  it("keeps a user-scoped alias's answers to the end user who asked, inside the key", async () => {
    const { g, openai } = cachingGateway(
      {},
      {
        "user-faq": {
          targets: [{ provider: "openai", model: "gpt-4o-mini" }],
          cache: { mode: "exact", scope: "user" },
        },
      },
    );
    const [key, other] = [await g.createKey({ name: "u" }), await g.createKey({ name: "v" })];
    const q = { ...ask(unique("What is my plan?")), model: "user-faq" };
    await chat(g, key, { ...q, user: "alice" });
    expect((await chat(g, key, { ...q, user: "alice" })).res.headers.get("x-sluice-cache")).toBe("HIT");
    expect((await chat(g, key, { ...q, user: "bob" })).res.headers.get("x-sluice-cache")).toBe("MISS");
    expect((await chat(g, other, { ...q, user: "alice" })).res.headers.get("x-sluice-cache")).toBe("MISS");
    expect(openai.chatRequests).toHaveLength(3);
  });

  it("honours no-store, refresh and Cache-Control, and refuses a malformed cache header", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const q = ask(unique("What is 6 times 7?"));
    const noStore = await chat(g, key, q, { "x-sluice-cache": "no-store" });
    expect(noStore.res.headers.get("x-sluice-cache")).toBe("BYPASS");
    expect((await chat(g, key, q, { "cache-control": "no-store" })).res.headers.get("x-sluice-cache")).toBe(
      "BYPASS",
    );
    expect((await chat(g, key, q)).res.headers.get("x-sluice-cache")).toBe("MISS"); // nothing was stored
    expect((await chat(g, key, q)).res.headers.get("x-sluice-cache")).toBe("HIT");
    openai.replyOnce({ content: "A fresher answer." });
    const refreshed = await chat(g, key, q, { "x-sluice-cache": "refresh" });
    expect(refreshed.res.headers.get("x-sluice-cache")).toBe("MISS");
    const after = await chat(g, key, q);
    expect(after.res.headers.get("x-sluice-cache")).toBe("HIT");
    expect(JSON.stringify(after.json().choices)).toContain("A fresher answer.");
    expect((await chat(g, key, q, { "cache-control": "no-cache" })).res.headers.get("x-sluice-cache")).toBe(
      "MISS",
    );
    expect(openai.chatRequests).toHaveLength(5);

    const bad = await chat(g, key, q, { "x-sluice-cache": "HIT" });
    expect(bad.res.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: "invalid_request", param: "x-sluice-cache" } });
    const ttl = await chat(g, key, q, { "x-sluice-cache-ttl": "30" });
    expect(ttl.json()).toMatchObject({ error: { param: "x-sluice-cache-ttl" } });
  });

  it("never caches errors, answers cut for length, or calls whose temperature is above the bound", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const q = ask(unique("Describe the sea."));
    openai.failNext(1, { status: 500, message: "boom" });
    expect((await chat(g, key, q)).res.status).toBe(500);
    openai.replyOnce({ content: "The sea is", finishReason: "length" });
    expect((await chat(g, key, q)).res.headers.get("x-sluice-cache")).toBe("MISS");
    expect((await chat(g, key, q)).res.headers.get("x-sluice-cache")).toBe("MISS"); // the cut answer was not kept
    expect((await chat(g, key, q)).res.headers.get("x-sluice-cache")).toBe("HIT");
    const hot = { ...q, temperature: 1.5 };
    expect((await chat(g, key, hot)).res.headers.get("x-sluice-cache")).toBe("BYPASS");
    expect((await chat(g, key, hot)).res.headers.get("x-sluice-cache")).toBe("BYPASS");
    expect(openai.chatRequests).toHaveLength(5);
  });

  it("sends one upstream call for identical requests that arrive together; the rest wait for its answer", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const q = ask(unique("What is the speed of light?"));
    let open!: () => void;
    openai.gate = new Promise((r) => {
      open = r;
    });
    const calls = Array.from({ length: 5 }, () => g.fetch("/v1/chat/completions", post(q, key)));
    await vi.waitFor(() => expect(openai.chatRequests).toHaveLength(1));
    open();
    const answers = await Promise.all(calls);
    const texts = await Promise.all(answers.map((r) => r.text()));
    await g.settle();
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((r) => r.headers.get("x-sluice-cache")).sort()).toEqual([
      "HIT",
      "HIT",
      "HIT",
      "HIT",
      "MISS",
    ]);
    expect(new Set(texts.map((t) => JSON.stringify(JSON.parse(t).choices))).size).toBe(1);
    expect(openai.chatRequests).toHaveLength(1);
  });

  it("lets waiting requests go upstream on their own when the first one fails", async () => {
    const { g, openai } = cachingGateway();
    const key = await g.createKey();
    const q = ask(unique("Is water wet?"));
    let open!: () => void;
    openai.gate = new Promise((r) => {
      open = r;
    });
    openai.failNext(1, { status: 503, message: "overloaded" });
    const calls = Array.from({ length: 3 }, () => g.fetch("/v1/chat/completions", post(q, key)));
    await vi.waitFor(() => expect(openai.chatRequests).toHaveLength(1));
    open();
    const statuses = (await Promise.all(calls)).map((r) => r.status).sort();
    await g.settle();
    expect(statuses).toEqual([200, 200, 503]);
    expect(openai.chatRequests.length).toBeGreaterThanOrEqual(2);
  });

  it("purges by key scope, by alias and by tag through DELETE /admin/cache, and counts entries in GET", async () => {
    const { g } = cachingGateway();
    const { key, id: keyId } = await keyWithId(g);
    const tagged = ask(unique("Tagged question"));
    const other = ask(unique("Untagged question"));
    await chat(g, key, tagged, { "x-sluice-cache-tags": "release-1, docs" });
    await chat(g, key, other);
    const tag = await admin(g, "DELETE", "/admin/cache?tag=release-1");
    expect(tag).toMatchObject({ status: 200, body: { object: "cache.purge", complete: true } });
    expect(tag.body.deleted).toBeGreaterThanOrEqual(1);
    expect((await chat(g, key, tagged)).res.headers.get("x-sluice-cache")).toBe("MISS");
    expect((await chat(g, key, other)).res.headers.get("x-sluice-cache")).toBe("HIT");

    const byScope = await admin(g, "DELETE", `/admin/cache?scope=${keyId}&model=faq`);
    expect(byScope.body.deleted).toBe(2);
    expect((await chat(g, key, other)).res.headers.get("x-sluice-cache")).toBe("MISS");

    const stats = await admin(g, "GET", "/admin/cache");
    expect(stats.status).toBe(200);
    const faq = (stats.body.aliases as { alias: string; entries: number }[]).find((a) => a.alias === "faq");
    expect(faq?.entries).toBeGreaterThanOrEqual(2);
    expect((await admin(g, "DELETE", "/admin/cache?bogus=1")).status).toBe(400);
  });
});

/** The key's spend by cache outcome, once `n` rows have reached the ledger. */
async function waitForSpend(g: ReturnType<typeof cachingGateway>["g"], key: string, n: number) {
  let rows: { group: string; requests: number; costPicoUsd: string; savedPicoUsd: string }[] = [];
  await vi.waitFor(
    async () => {
      const body = (await spendOf(g, key)) as { groups: typeof rows };
      rows = body.groups.map(({ group, requests, costPicoUsd, savedPicoUsd }) => ({
        group,
        requests,
        costPicoUsd,
        savedPicoUsd,
      }));
      expect(rows.reduce((s, r) => s + r.requests, 0)).toBe(n);
    },
    { timeout: 5000, interval: 100 },
  );
  return rows.sort((a, b) => a.group.localeCompare(b.group));
}
