import { describe, expect, it } from "vitest";
import { localEmbedder } from "../../src/cache/embedder/local";
import { InFlight } from "../../src/cache/inflight";
import { SemanticTier } from "../../src/cache/semantic/tier";
import { cacheStage } from "../../src/cache/stage";
import type { ResponseStore } from "../../src/cache/store/interface";
import { memoryStore } from "../../src/cache/store/memory";
import { nearStore } from "../../src/cache/store/near";
import { resolveModel } from "../../src/config/resolve";
import { configSchema } from "../../src/config/schema";
import type { StageCall } from "../../src/pipeline/stage";

/** The cache stage on its own: a clock the test moves, the in-isolate store twin, no semantic tier. */
function setup(ttlSeconds = 120) {
  let now = Date.UTC(2026, 11, 1);
  const clock = () => now;
  const puts: { key: string; ttlSeconds: number }[] = [];
  const twin = memoryStore(clock);
  const store: ResponseStore = {
    ...twin,
    put: (key, value, opts) => {
      puts.push({ key, ttlSeconds: opts.ttlSeconds });
      return twin.put(key, value, opts);
    },
  };
  const config = configSchema.parse({
    providers: { p: { type: "mock" } },
    models: { faq: { targets: [{ provider: "p", model: "echo" }], cache: { mode: "exact", ttlSeconds } } },
  });
  const sleep = async (ms: number) => {
    now += ms;
  };
  const stage = cacheStage({
    store,
    inflight: new InFlight(clock, sleep),
    semantic: null,
    settings: config.cache,
    events: async () => {},
    now: clock,
    sleep,
  });
  const call = (headers: Record<string, string> = {}): StageCall => ({
    requestId: `req_${crypto.randomUUID()}`,
    keyId: "key_stage",
    team: null,
    endUser: null,
    op: "chat",
    route: resolveModel(config, "faq"),
    body: { model: "faq", messages: [{ role: "user", content: "When does it expire?" }] },
    stream: false,
    headers: new Headers(headers),
    dropped: [],
    lossy: false,
    notes: { cache: "BYPASS", headers: {}, wantsText: false },
  });
  const answer = JSON.stringify({
    id: "x",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content: "Soon." }, finish_reason: "stop" }],
  });
  const fill = async (c: StageCall) =>
    stage.after?.(c, {
      text: answer,
      usage: null,
      completed: true,
      costPicoUsd: 5,
      provider: "p",
      model: "echo",
    });
  return { stage, call, fill, puts, advance: (ms: number) => (now += ms) };
}

describe("the cache stage", () => {
  it("stops serving an entry once its TTL has passed, and stores it with that TTL", async () => {
    const { stage, call, fill, puts, advance } = setup(120);
    const first = call();
    expect(await stage.before?.(first)).toBeNull();
    expect(first.notes.cache).toBe("MISS");
    await fill(first);
    expect(puts.map((p) => p.ttlSeconds)).toEqual([120]);
    advance(119_000);
    expect((await stage.before?.(call()))?.cache).toBe("HIT");
    advance(1_000);
    expect(await stage.before?.(call())).toBeNull();
  });

  it("takes a request's own TTL, and serves nothing past it even from the near cache", async () => {
    const { stage, call, fill, puts, advance } = setup(3600);
    const store = memoryStore();
    const near = nearStore(store, { ttlMs: 30_000 });
    await near.put("k", "v", { ttlSeconds: 60, metadata: { a: "a", c: 0 } });
    await store.delete("k"); // as another isolate's purge would
    expect(await near.get("k")).toBe("v"); // within the near cache's bound

    const c = call({ "x-sluice-cache-ttl": "60" });
    await stage.before?.(c);
    await fill(c);
    expect(puts.map((p) => p.ttlSeconds)).toEqual([60]);
    advance(60_000);
    expect(await stage.before?.(call())).toBeNull();
  });

  it("writes a key again only after KV's one-second gap, keeping the newest answer", async () => {
    const { stage, call, fill, puts } = setup();
    const a = call({ "x-sluice-cache": "refresh" });
    const b = call({ "x-sluice-cache": "refresh" });
    await stage.before?.(a);
    await stage.before?.(b);
    await Promise.all([fill(a), fill(b)]);
    expect(puts).toHaveLength(2); // the second waited out the gap on the stage's clock
  });
});

describe("the semantic tier's ports", () => {
  it("refuses an index whose dimensions differ from the embedder's, naming the config field", async () => {
    const index = {
      dimensions: async () => 1024,
      query: async () => [],
      upsert: async () => {},
      deleteByIds: async () => {},
    };
    const tier = new SemanticTier(localEmbedder(384), index);
    const vector = await tier.embed("What is the capital of France?");
    expect(vector).toHaveLength(384);
    await expect(tier.candidates({ namespace: "n", fp: "f", vector, threshold: 0.9 })).rejects.toThrow(
      /cache\.embedder.*384.*1024/,
    );
  });
});

describe("adaptive thresholds", () => {
  it("keep an entry whose check failed but ask closer matches of it from then on", async () => {
    let now = Date.UTC(2026, 11, 1);
    const clock = () => now;
    const sleep = async (ms: number) => {
      now += ms;
    };
    const store = memoryStore(clock);
    const added: { key: string }[] = [];
    let score = 0.9;
    const tier = {
      embedder: { id: "fake", dimensions: 1, embed: async () => [[1]] },
      embed: async () => [1],
      candidates: async () => added.map((a) => ({ id: "v1", key: a.key, score })),
      add: async (v: { key: string }) => {
        added.push(v);
      },
      remove: async () => {},
    } as unknown as SemanticTier;
    const events: string[] = [];
    const config = configSchema.parse({
      providers: { p: { type: "mock" } },
      models: {
        faq: {
          targets: [{ provider: "p", model: "echo" }],
          cache: { mode: "semantic", verifyRate: 1, adaptive: true, threshold: 0.8 },
        },
      },
    });
    const stage = cacheStage({
      store,
      semantic: tier,
      settings: config.cache,
      events: async (e) => {
        events.push(`${e.kind}@${e.score}`);
      },
      inflight: new InFlight(clock, sleep),
      now: clock,
      sleep,
      random: () => 0,
    });
    const call = (question: string): StageCall => ({
      requestId: `req_${crypto.randomUUID()}`,
      keyId: "key_adaptive",
      team: null,
      endUser: null,
      op: "chat",
      route: resolveModel(config, "faq"),
      body: { model: "faq", messages: [{ role: "user", content: question }] },
      stream: false,
      headers: new Headers(),
      dropped: [],
      lossy: false,
      notes: { cache: "BYPASS", headers: {}, wantsText: false },
    });
    const answer = (text: string) =>
      JSON.stringify({
        id: "x",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      });
    const outcome = (text: string) => ({
      text: answer(text),
      usage: null,
      completed: true,
      costPicoUsd: 1,
      provider: "p",
      model: "echo",
    });
    const original = call("Who won the 2022 final?");
    await stage.before?.(original);
    await stage.after?.(original, outcome("Argentina won it."));
    expect(added).toHaveLength(1);

    // A paraphrase at 0.90 is checked upstream and its answer disagrees: the entry's own threshold rises to 0.92.
    const first = call("who won the final in 2022");
    expect(await stage.before?.(first)).toBeNull();
    await stage.after?.(first, outcome("France won it."));
    expect(events).toEqual(["false_hit@0.9"]);
    expect((await stage.before?.(call("Who won the 2022 final?")))?.cache).toBe("HIT"); // kept, not evicted

    score = 0.91; // below the entry's own threshold: not even a candidate
    expect(await stage.before?.(call("which team won the 2022 final"))).toBeNull();
    expect(events).toHaveLength(1);
    score = 0.95; // closer than the failed match: checked again
    const closer = call("Who won the final of 2022?");
    await stage.before?.(closer);
    await stage.after?.(closer, outcome("Argentina won it."));
    expect(events).toEqual(["false_hit@0.9", "verified@0.95"]);
  });
});
