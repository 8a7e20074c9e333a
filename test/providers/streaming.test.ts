import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import { chunksOf, type FakeUpstream, installUpstreams, readSse, type Upstreams } from "../helpers/upstream";

const CONFIG = {
  providers: { openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" } },
  models: {},
};
const hi = [{ role: "user", content: "hi" }];
const dec = new TextDecoder();

let net: Upstreams;
let openai: FakeUpstream;
beforeEach(() => {
  net = installUpstreams();
  openai = net.add("https://api.openai.com", { apiKey: "sk-t" });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup() {
  const g = gateway(CONFIG, { OPENAI_API_KEY: "sk-t" });
  return { g, key: await g.createKey() };
}

function streamBody(extra: Record<string, unknown> = {}) {
  return { model: "openai/gpt-4o-mini", messages: hi, stream: true, ...extra };
}

/** Resolves with "pending" if the promise has not settled after a few turns of the event loop. */
async function stillPending(p: Promise<unknown>, ms = 30): Promise<boolean> {
  const marker = Symbol("pending");
  const r = await Promise.race([p, new Promise((res) => setTimeout(() => res(marker), ms))]);
  return r === marker;
}

const contentOf = (chunks: Record<string, unknown>[]) =>
  chunks.map((c) => (c.choices as { delta: { content?: string | null } }[])[0]?.delta.content ?? "").join("");

describe("streaming", () => {
  it.each([
    ["re-framed (client did not ask for usage)", {}],
    ["byte pass-through (client asked for usage)", { stream_options: { include_usage: true } }],
  ])(
    "passes each chunk to the client as it arrives, before the upstream has finished: %s",
    async (_, extra) => {
      const { g, key } = await setup();
      openai.reply({ content: "alpha beta gamma" });
      const hold = openai.holdNextStream(2);
      const res = await g.fetch("/v1/chat/completions", post(streamBody(extra), key));
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();

      let seen = "";
      while (!seen.includes('"content":"alpha "')) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended early");
        seen += dec.decode(value, { stream: true });
      }
      await hold.reached;
      const trace = openai.streams[0];
      expect(trace?.sent).toHaveLength(2);
      expect(trace?.done).toBe(false);
      expect(seen).not.toContain("beta");

      // Nothing more can come until the upstream sends it.
      const next = reader.read();
      expect(await stillPending(next)).toBe(true);
      hold.release();
      let rest = dec.decode((await next).value, { stream: true });
      for (let r = await reader.read(); !r.done; r = await reader.read())
        rest += dec.decode(r.value, { stream: true });
      expect(rest).toContain('"content":"beta "');
      expect(rest.endsWith("data: [DONE]\n\n")).toBe(true);
      expect(trace?.done).toBe(true);
      await g.settle();
    },
  );

  it("cancels the upstream stream when the client cancels the response body mid-stream", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "one two three four" });
    const hold = openai.holdNextStream(2);
    const res = await g.fetch("/v1/chat/completions", post(streamBody(), key));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    await hold.reached;
    // The gateway is now waiting on the upstream for more; the client goes away.
    const pending = reader.read();
    await reader.cancel(new Error("client went away"));
    await pending;
    const trace = openai.streams[0];
    expect(trace?.cancelled).toBe(true);
    expect(trace?.done).toBe(false);
    hold.release();
    await g.settle();
    expect(trace?.sent.length).toBeLessThan(6);
  });

  it("aborts the upstream request when the client's request is aborted mid-stream", async () => {
    const { g, key } = await setup();
    openai.reply({ content: "one two three four" });
    // After the role chunk and the first token: the gateway holds a stream until its first content event.
    const hold = openai.holdNextStream(2);
    const client = new AbortController();
    const res = await g.fetch("/v1/chat/completions", { ...post(streamBody(), key), signal: client.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await hold.reached;
    expect(openai.requests[0]?.signal.aborted).toBe(false);
    client.abort();
    expect(openai.requests[0]?.signal.aborted).toBe(true);
    hold.release();
    await reader.cancel().catch(() => {});
    await g.settle();
  });

  it("answers 499 without calling upstream further when the client aborts before the headers", async () => {
    const { g, key } = await setup();
    openai.delayMs = 5_000;
    const client = new AbortController();
    const pending = g.fetch("/v1/chat/completions", { ...post(streamBody(), key), signal: client.signal });
    await vi.waitFor(() => expect(openai.requests).toHaveLength(1));
    client.abort();
    const res = await pending;
    expect(res.status).toBe(499);
    expect(openai.requests[0]?.signal.aborted).toBe(true);
    expect(openai.requests).toHaveLength(1);
    await g.settle();
  });

  it.each([
    ["re-framed", {}],
    ["passed through", { stream_options: { include_usage: true } }],
  ])(
    "keeps the text intact when the upstream splits events and UTF-8 characters across network chunks (%s)",
    async (_, extra) => {
      net
        .add("https://api.openai.com", { apiKey: "sk-t", chunkBytes: 7 })
        .reply({ content: "héllo wörld 🌊 ünïcode done" });
      const { g, key } = await setup();
      const res = await g.fetch("/v1/chat/completions", post(streamBody(extra), key));
      const events = await readSse(res);
      expect(events.at(-1)).toBe("[DONE]");
      const chunks = chunksOf(events);
      expect(contentOf(chunks)).toBe("héllo wörld 🌊 ünïcode done");
      const usageChunks = chunks.filter((c) => Array.isArray(c.choices) && c.choices.length === 0);
      expect(usageChunks).toHaveLength("stream_options" in extra ? 1 : 0);
    },
  );

  it("frames every event as `data: <json>` and a blank line, ends with [DONE], and is not cached", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/chat/completions", post(streamBody(), key));
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const text = await res.text();
    expect(text).toMatch(/^data: \{/);
    expect(text.endsWith("\n\ndata: [DONE]\n\n")).toBe(true);
    for (const event of text.split("\n\n").filter(Boolean)) {
      expect(event.startsWith("data: ")).toBe(true);
      const data = event.slice(6);
      if (data !== "[DONE]") expect(JSON.parse(data)).toMatchObject({ object: "chat.completion.chunk" });
    }
  });

  it("ends the client's stream with an error when the upstream connection drops mid-stream", async () => {
    const { g, key } = await setup();
    vi.mocked(globalThis.fetch).mockImplementationOnce(async () => {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent) {
            c.error(new TypeError("network connection lost"));
            return;
          }
          sent = true;
          c.enqueue(
            new TextEncoder().encode(
              `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "par" }, finish_reason: null }] })}\n\n`,
            ),
          );
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    });
    const res = await g.fetch("/v1/chat/completions", post(streamBody(), key));
    expect(res.status).toBe(200);
    // Not a network error: what streamed, then a well-formed error event (OpenAI's shape), then the end.
    const events = await readSse(res);
    expect(events[0]).toContain('"content":"par"');
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[1] as string)).toEqual({
      error: {
        message: "The upstream stream ended before it was complete.",
        type: "upstream_error",
        code: "upstream_stream_cut",
        param: null,
      },
    });
    await g.settle();
  });
});
