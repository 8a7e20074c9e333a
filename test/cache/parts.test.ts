import { describe, expect, it } from "vitest";
import { parseEntry, replayStream, StreamAssembler } from "../../src/cache/entry";
import { InFlight } from "../../src/cache/inflight";
import { canonicalJson, fingerprint, requestHash, scopeOf, semanticEligible } from "../../src/cache/key";
import { memoryStore } from "../../src/cache/store/memory";
import { SseParser } from "../../src/formats/sse";

describe("cache keys", () => {
  it("write one canonical text for an object whatever the order of its keys", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2, { e: 0, f: 1 }] }, b: 1 }),
    );
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson({ text: "x", cache_control: { type: "ephemeral" } })).toBe('{"text":"x"}');
  });

  it("hash string content and a single text part alike, and max_completion_tokens like max_tokens", async () => {
    const a = { messages: [{ role: "user", content: "hi" }], max_tokens: 5, stream: true, user: "u1" };
    const b = {
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      max_completion_tokens: 5,
    };
    expect(await requestHash("chat", "faq", a, [])).toBe(await requestHash("chat", "faq", b, []));
    expect(await requestHash("chat", "faq", a, [])).not.toBe(await requestHash("chat", "other", a, []));
    expect(await requestHash("chat", "faq", a, [])).not.toBe(
      await requestHash("chat", "faq", a, ["thinking"]),
    );
    expect(await requestHash("chat", "faq", a, [])).not.toBe(
      await requestHash("chat", "faq", { ...a, seed: 1 }, []),
    );
  });

  it("fingerprint everything but the last turn, with temperature in steps of 0.25", async () => {
    const conv = (last: string, t?: number) => ({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: last },
      ],
      ...(t === undefined ? {} : { temperature: t }),
    });
    const fp = (b: Record<string, unknown>) => fingerprint("chat", "faq", "local:v1", b);
    expect(await fp(conv("one"))).toBe(await fp(conv("two")));
    expect(await fp(conv("one", 0.1))).toBe(await fp(conv("two", 0.05)));
    expect(await fp(conv("one", 0.1))).not.toBe(await fp(conv("one", 0.9)));
    expect(await fp(conv("one"))).not.toBe(
      await fp({
        messages: [
          { role: "system", content: "Be long." },
          { role: "user", content: "one" },
        ],
      }),
    );
  });

  it("scope a user inside its key, and fall back to the key when a team or user is missing", () => {
    const who = { keyId: "key_a", team: null, endUser: "u1" };
    expect(scopeOf("user", who).name).toBe("user:key_a:u1");
    expect(scopeOf("team", who).name).toBe("key:key_a");
    expect(scopeOf("team", { ...who, team: "red" }).name).toBe("team:red");
    expect(scopeOf("user", { ...who, endUser: null }).name).toBe("key:key_a");
    expect(scopeOf("global", who).name).toBe("global");
  });

  it("keep images, tool results, n > 1 and long conversations out of the semantic tier", () => {
    const user = (content: unknown) => ({ role: "user", content });
    expect(semanticEligible({ messages: [user("hi")] }, 4)).toBe(true);
    expect(semanticEligible({ messages: [user("hi")], n: 2 }, 4)).toBe(false);
    expect(semanticEligible({ messages: [user([{ type: "image_url", image_url: { url: "x" } }])] }, 4)).toBe(
      false,
    );
    expect(
      semanticEligible(
        { messages: [user("a"), { role: "tool", content: "r", tool_call_id: "1" }, user("b")] },
        4,
      ),
    ).toBe(false);
    expect(
      semanticEligible({ messages: [user("a"), { role: "assistant", content: "x" }, user("b")] }, 1),
    ).toBe(false);
  });
});

describe("cached answers", () => {
  it("replay as a canonical stream that assembles back into the same answer", async () => {
    const answer = {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Let me look.",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } },
            ],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    };
    const text = await new Response(replayStream(JSON.stringify(answer))).text();
    const assembler = new StreamAssembler();
    const data: string[] = [];
    const parser = new SseParser((e) => {
      data.push(e.data);
      assembler.push(e.data);
    });
    parser.push(text);
    parser.end();
    expect(data[data.length - 1]).toBe("[DONE]");
    const back = assembler.result();
    expect(back?.choices).toEqual(answer.choices);
    expect(back?.usage).toEqual(answer.usage);
  });

  it("are not assembled from a stream that never finished", () => {
    const a = new StreamAssembler();
    a.push(
      JSON.stringify({ id: "x", choices: [{ index: 0, delta: { content: "half" }, finish_reason: null }] }),
    );
    expect(a.result()).toBeNull();
  });

  it("read back as null when the stored value is not an entry", () => {
    expect(parseEntry("{not json")).toBeNull();
    expect(parseEntry(JSON.stringify({ v: 2, answer: "x", createdAt: 1 }))).toBeNull();
    expect(parseEntry(null)).toBeNull();
  });
});

describe("the in-isolate store twin", () => {
  it("refuses TTLs under 60 s like KV, expires entries on its clock, and lists in key order", async () => {
    let now = 1_000_000;
    const store = memoryStore(() => now);
    await expect(store.put("k", "v", { ttlSeconds: 59, metadata: { a: "x", c: 0 } })).rejects.toThrow(
      /at least 60/,
    );
    await store.put("rc:b", "2", { ttlSeconds: 60, metadata: { a: "x", c: 0 } });
    await store.put("rc:a", "1", { ttlSeconds: 120, metadata: { a: "y", c: 0 } });
    expect((await store.list("rc:")).entries.map((e) => e.name)).toEqual(["rc:a", "rc:b"]);
    now += 60_000;
    expect(await store.get("rc:b")).toBeNull();
    expect(await store.get("rc:a")).toBe("1");
  });
});

describe("identical requests in flight", () => {
  it("let one lead, hand its entry to followers, and release them at once when it fails", async () => {
    let now = 0;
    const sleeps: number[] = [];
    const f = new InFlight(
      () => now,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    );
    expect(f.lead("k", 1000)).toBe(true);
    expect(f.lead("k", 1000)).toBe(false);
    const waiting = f.follow("k", 1000);
    f.settle("k", "entry");
    expect(await waiting).toBe("entry");

    expect(f.lead("j", 1000)).toBe(true);
    f.settle("j", null);
    expect(await f.follow("j", 1000)).toBeNull();
  });

  it("stop waiting after the bound when the leader never answers", async () => {
    let now = 0;
    const f = new InFlight(
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    f.lead("slow", 10_000);
    expect(await f.follow("slow", 300)).toBeNull();
    expect(now).toBeGreaterThanOrEqual(300);
    expect(now).toBeLessThan(400);
  });
});
