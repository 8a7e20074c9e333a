import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { scopeHash } from "../../src/cache/key";
import { normalizeQuestion } from "../../src/cache/semantic/normalize";
import { localVectorIndex } from "../../src/cache/vectors/durable-object";
import { gateway } from "../helpers/gateway";
import { installUpstreams } from "../helpers/upstream";
import { FakeAi } from "../helpers/workers-ai-binding";
import { admin, ask, cachingGateway, chat, keyWithId, unique } from "./fixtures";

afterEach(() => vi.restoreAllMocks());

/** Writes to the offline index wait for this (as Vectorize's do); the tests publish them instead. */
const HOLD_MS = 600_000;
const DIMENSIONS = 384;

function semanticGateway(cache: Record<string, unknown> = {}) {
  return cachingGateway(
    {},
    {
      sem: { targets: [{ provider: "openai", model: "gpt-4o-mini" }], cache: { mode: "semantic", ...cache } },
    },
    { localIndexVisibilityMs: HOLD_MS },
  );
}

/** Makes every pending write of the key's namespace visible, as time would. */
async function publish(keyId: string) {
  const index = localVectorIndex(env.VECTORS, { dimensions: DIMENSIONS, visibilityMs: HOLD_MS });
  await index.publish(await scopeHash(`key:${keyId}`));
}

const sem = (question: string, extra: Record<string, unknown> = {}) => ({
  ...ask(question, extra),
  model: "sem",
});

describe("the semantic tier", () => {
  it("answers a paraphrase once the index has the question, with its score, and not before", async () => {
    const { g, openai } = semanticGateway();
    const { key, id } = await keyWithId(g);
    const topic = unique("volcano");
    await chat(g, key, sem(`What is the capital city of France? ${topic}`));
    const early = await chat(g, key, sem(`what's the capital of France ${topic}`));
    expect(early.res.headers.get("x-sluice-cache")).toBe("MISS"); // written, not yet visible
    await publish(id);
    const late = await chat(g, key, sem(`What is France's capital city? ${topic}`));
    expect(late.res.headers.get("x-sluice-cache")).toBe("SEMANTIC");
    expect(Number(late.res.headers.get("x-sluice-cache-score"))).toBeGreaterThan(0.8);
    expect(JSON.stringify(late.json().choices)).toContain("What is the capital city of France?");
    // The same paraphrase again: a semantic hit again, at once (it led no upstream call to wait for).
    const again = await chat(g, key, sem(`What is France's capital city? ${topic}`));
    expect(again.res.headers.get("x-sluice-cache")).toBe("SEMANTIC");
    expect(openai.chatRequests).toHaveLength(2);
  });

  it("does not answer a different question, a changed number, a negation or swapped places from a near-identical entry", async () => {
    const { g, openai } = semanticGateway();
    const { key, id } = await keyWithId(g);
    const tag = unique("t");
    const stored = [
      `What is 2+2? ${tag}`,
      `Is the bridge safe to cross? ${tag}`,
      `How long to boil an egg? ${tag}`,
      `Cheap flights from Paris to Rome ${tag}`,
    ];
    for (const q of stored) await chat(g, key, sem(q));
    await publish(id);
    const traps = [
      `What is 2+3? ${tag}`,
      `Is the bridge not safe to cross? ${tag}`,
      `How long to fry an egg? ${tag}`,
      `Cheap flights from Rome to Paris ${tag}`,
    ];
    for (const q of traps) {
      expect((await chat(g, key, sem(q))).res.headers.get("x-sluice-cache"), q).toBe("MISS");
    }
    expect(openai.chatRequests).toHaveLength(8);
  });

  it("matches only under the same system prompt, and never across keys", async () => {
    const { g } = semanticGateway();
    const [ka, kb] = [await keyWithId(g, { name: "a" }), await keyWithId(g, { name: "b" })];
    const [a, b] = [ka.key, kb.key];
    const topic = unique("glaciers");
    const withSystem = (system: string, q: string) => ({
      ...sem(q),
      messages: [
        { role: "system", content: system },
        { role: "user", content: q },
      ],
    });
    await chat(g, a, withSystem("Answer in French.", `How do glaciers form? ${topic}`));
    await chat(g, b, withSystem("Answer in French.", `How do glaciers form? ${topic}`));
    await publish(ka.id);
    await publish(kb.id);
    const paraphrase = `how do glaciers form ${topic}`;
    expect(
      (await chat(g, a, withSystem("Answer in German.", paraphrase))).res.headers.get("x-sluice-cache"),
    ).toBe("MISS");
    expect(
      (await chat(g, a, withSystem("Answer in French.", paraphrase))).res.headers.get("x-sluice-cache"),
    ).toBe("SEMANTIC");
    // Key c never asked: b's identical entry in its own namespace is out of reach.
    const c = await g.createKey({ name: "c" });
    expect(
      (await chat(g, c, withSystem("Answer in French.", paraphrase))).res.headers.get("x-sluice-cache"),
    ).toBe("MISS");
  });

  it("in shadow mode serves nothing from the semantic tier but counts the would-be hit", async () => {
    const { g, openai } = semanticGateway({ shadow: true });
    const { key, id } = await keyWithId(g);
    const topic = unique("tides");
    await chat(g, key, sem(`What causes ocean tides? ${topic}`));
    await publish(id);
    const r = await chat(g, key, sem(`what causes the ocean tides ${topic}`));
    expect(r.res.headers.get("x-sluice-cache")).toBe("MISS");
    expect(openai.chatRequests).toHaveLength(2);
    const stats = await admin(g, "GET", "/admin/cache");
    const row = (stats.body.aliases as { alias: string; shadowHits: number }[]).find(
      (x) => x.alias === "sem",
    );
    expect(row?.shadowHits).toBeGreaterThanOrEqual(1);
  });

  it("checks a share of semantic hits upstream and evicts an entry whose answer does not hold", async () => {
    const { g, openai } = semanticGateway({ verifyRate: 1 });
    const { key, id } = await keyWithId(g);
    const topic = unique("moons");
    const original = sem(`How many moons has Mars? ${topic}`);
    openai.replyOnce({ content: "Mars has 2 moons." });
    await chat(g, key, original);
    await publish(id);
    openai.replyOnce({ content: "Mars has 14 moons." });
    const checked = await chat(g, key, sem(`how many moons does Mars have ${topic}`));
    expect(checked.res.headers.get("x-sluice-cache")).toBe("MISS");
    expect(JSON.stringify(checked.json().choices)).toContain("14 moons"); // the fresh answer is served
    // The entry failed its check: the exact repeat of the original misses now.
    expect((await chat(g, key, original)).res.headers.get("x-sluice-cache")).toBe("MISS");
    const stats = await admin(g, "GET", "/admin/cache");
    const row = (stats.body.aliases as { alias: string; falseHits: number; falseHitRate: number }[]).find(
      (x) => x.alias === "sem",
    );
    expect(row?.falseHits).toBeGreaterThanOrEqual(1);
    expect(row?.falseHitRate).toBeGreaterThan(0);
  });

  it("embeds with Workers AI through its binding when configured, the normalized question only", async () => {
    const ai = new FakeAi();
    vi.spyOn(console, "log").mockImplementation(() => {});
    const openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-o" });
    const g = gateway(
      {
        providers: { openai: { type: "openai", apiKey: "sk-o" } },
        models: {
          sem: { targets: [{ provider: "openai", model: "gpt-4o-mini" }], cache: { mode: "semantic" } },
        },
        cache: {
          embedder: { type: "workers-ai", model: "@cf/baai/bge-small-en-v1.5" },
          localIndexVisibilityMs: HOLD_MS,
        },
      },
      { AI: ai },
    );
    const { key, id } = await keyWithId(g);
    const question = `What is the boiling point of water? ${unique("w")}`;
    await chat(g, key, sem(question));
    expect(ai.calls.map((c) => [c.model, c.inputs.text])).toEqual([
      ["@cf/baai/bge-small-en-v1.5", [normalizeQuestion(question)]],
    ]);
    await publish(id);
    const again = await chat(g, key, sem(question.toLowerCase().replace("?", "")));
    expect(again.res.headers.get("x-sluice-cache")).toBe("SEMANTIC");
    expect(openai.chatRequests).toHaveLength(1);
  });
});
