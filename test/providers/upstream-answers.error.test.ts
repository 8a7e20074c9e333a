import { afterEach, describe, expect, it, vi } from "vitest";
import { expectError } from "../helpers/errors";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { installUpstreams, readSse } from "../helpers/upstream";
import { flushSpend, newKey, rowsOf } from "../spend/ledger-helpers";

/**
 * An upstream 2xx that is not what it claims is an upstream failure: retried, failed over, answered 502
 * `upstream_invalid_response` when nothing else answers, and recorded as such. A stream that breaks off after
 * its first byte ends with a readable error event in the client's format.
 */
const BAD = "https://bad.example";
const CONFIG = {
  providers: {
    bad: { type: "openai", apiKey: "sk-b", baseUrl: `${BAD}/v1` },
    good: { type: "openai", apiKey: "sk-g" },
    claude: { type: "anthropic", apiKey: "sk-a", baseUrl: BAD },
  },
  models: {
    solo: { targets: [{ provider: "bad", model: "m" }], retry: { attempts: 2, backoffMs: 0 } },
    duo: {
      targets: [
        { provider: "bad", model: "m" },
        { provider: "good", model: "gpt-4o-mini" },
      ],
      retry: { attempts: 2, backoffMs: 0 },
    },
  },
};
const chat = (model: string, stream = false) => ({
  model,
  messages: [{ role: "user", content: "hi" }],
  ...(stream ? { stream: true } : {}),
});
const messages = (model: string, stream = false) => ({ ...chat(model, stream), max_tokens: 20 });

const html = () =>
  new Response(
    `<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>`,
    { headers: { "content-type": "text/html" } },
  );
const sse = (text: string) => new Response(text, { headers: { "content-type": "text/event-stream" } });
const CHUNK = `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "par" }, finish_reason: null }] })}\n\n`;

/** 2xx answers that cannot be read, for a JSON request. */
const BAD_JSON: Record<string, () => Response> = {
  "truncated JSON": () =>
    new Response('{"id":"x","choices":[{"message":', { headers: { "content-type": "application/json" } }),
  "an HTML page": html,
  "an empty body": () => new Response("", { headers: { "content-type": "application/json" } }),
  "JSON without choices": () => Response.json({ id: "x", object: "chat.completion" }),
  "a JSON array": () => Response.json([1, 2]),
};
/** 2xx answers that cannot be read, for a stream request. */
const BAD_STREAMS: Record<string, () => Response> = {
  "an empty body": () => sse(""),
  "an HTML page": html,
  "only [DONE]": () => sse("data: [DONE]\n\n"),
  "a first event that is not JSON": () => sse("data: <html>oops</html>\n\n"),
  "a JSON answer to a stream request": () => Response.json({ id: "x", choices: [] }),
  "an error as the first event": () =>
    sse(
      `data: ${JSON.stringify({ error: { message: "overloaded", type: "server_error", code: "overloaded" } })}\n\n`,
    ),
};

afterEach(() => {
  vi.restoreAllMocks();
});

/** The bad upstream answers `answer()` to every call; the good one answers normally. */
function upstreams(answer: () => Response) {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const u = installUpstreams();
  const bad = {
    calls: 0,
    handle: async () => {
      bad.calls++;
      return answer();
    },
  };
  u.mount(BAD, bad);
  const good = u.add("https://api.openai.com", { apiKey: "sk-g" }).reply({ content: "fine" });
  return { bad, good };
}

async function setup(answer: () => Response) {
  const fakes = upstreams(answer);
  const g = gateway(CONFIG);
  const key = await newKey(g, { name: "answers" });
  return { ...fakes, g, key };
}

describe("An unreadable 2xx JSON answer", () => {
  for (const [what, answer] of Object.entries(BAD_JSON)) {
    it(`(${what}) is retried, then failed over to the next target`, async () => {
      const { bad, good, g, key } = await setup(answer);
      const res = await g.fetch("/v1/chat/completions", post(chat("duo"), key.secret));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-sluice-provider")).toBe("good");
      expect(res.headers.get("x-sluice-retries")).toBe("2");
      expect(
        ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
      ).toBe("fine");
      expect(bad.calls).toBe(2);
      expect(good.chatRequests).toHaveLength(1);
    });

    it(`(${what}) with no target left is a 502 upstream_invalid_response, recorded as such`, async () => {
      const { g, key } = await setup(answer);
      const res = await g.fetch("/v1/chat/completions", post(chat("solo"), key.secret));
      const body = await expectError(res, 502, "upstream_invalid_response");
      expect(body.error.message).toMatch(/^Provider 'bad' answered with success, but /);
      expect(body.error.message).not.toMatch(/<|nginx/);
      await g.settle();
      await flushSpend();
      const [row] = await rowsOf(key.id);
      expect(row).toMatchObject({ status: 502, error_code: "upstream_invalid_response", retries: 1 });
    });
  }

  it("on /v1/messages is an Anthropic-shaped 502, or the next target's answer", async () => {
    const { g, key } = await setup(BAD_JSON["truncated JSON"] as () => Response);
    const res = await g.fetch("/v1/messages", post(messages("solo"), key.secret));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({
      type: "error",
      error: { type: "api_error", message: expect.stringMatching(/^Provider 'bad' answered with success/) },
    });
    const ok = await g.fetch("/v1/messages", post(messages("duo"), key.secret));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { content: { text: string }[] }).content[0]?.text).toBe("fine");
  });

  it("from a native provider (Anthropic) is a 502 upstream_invalid_response, not a network error", async () => {
    const { g, key } = await setup(html);
    const res = await g.fetch("/v1/chat/completions", post(chat("claude/claude-sonnet-4-5"), key.secret));
    const body = await expectError(res, 502, "upstream_invalid_response");
    expect(body.error.message).toBe(
      "Provider 'claude' answered with success, but the body is not JSON (502 Bad Gateway).",
    );
    // Valid JSON that is not an Anthropic message.
    const { g: g2, key: k2 } = await setup(() => Response.json({ hello: "world" }));
    const res2 = await g2.fetch("/v1/chat/completions", post(chat("claude/claude-sonnet-4-5"), k2.secret));
    await expectError(res2, 502, "upstream_invalid_response");
  });
});

describe("An unreadable 2xx stream", () => {
  for (const [what, answer] of Object.entries(BAD_STREAMS)) {
    it(`(${what}) fails over before the first byte reaches the client`, async () => {
      const { bad, g, key } = await setup(answer);
      const res = await g.fetch("/v1/chat/completions", post(chat("duo", true), key.secret));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-sluice-provider")).toBe("good");
      const events = await readSse(res);
      expect(events.at(-1)).toBe("[DONE]");
      expect(events.join("")).toContain("fine");
      expect(bad.calls).toBe(2);
    });

    it(`(${what}) with no target left is a 502 JSON error, not an empty stream`, async () => {
      const { g, key } = await setup(answer);
      const res = await g.fetch("/v1/chat/completions", post(chat("solo", true), key.secret));
      expect(res.status).toBe(502);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await res.json()) as { error: { code: string } };
      expect(["upstream_invalid_response", "overloaded"]).toContain(body.error.code);
      const streamed = await g.fetch("/v1/messages", post(messages("solo", true), key.secret));
      expect(streamed.status).toBe(502);
      expect(((await streamed.json()) as { type: string }).type).toBe("error");
    });
  }
});

describe("A stream cut after its first byte", () => {
  const cutAfterFirstChunk = () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent) return c.error(new TypeError("network connection lost"));
        sent = true;
        c.enqueue(new TextEncoder().encode(CHUNK));
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  };

  it("ends with an error event the openai SDK raises, and a row that says so", async () => {
    const { g, key } = await setup(cutAfterFirstChunk);
    const stream = await openaiFor(g, key.secret).chat.completions.create({
      model: "solo",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow(/ended before it was complete/);
    expect(seen.join("")).toBe("par");
    await g.settle();
    await flushSpend();
    const [row] = await rowsOf(key.id);
    expect(row).toMatchObject({ status: 200, completed: 0, error_code: "upstream_stream_cut" });
    expect(row?.output_tokens).toBeGreaterThan(0);
  });

  it("that ends cleanly without [DONE] also ends with the error event", async () => {
    const { g, key } = await setup(() => sse(CHUNK));
    const res = await g.fetch("/v1/chat/completions", post(chat("solo", true), key.secret));
    const events = await readSse(res);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[1] as string).error.code).toBe("upstream_stream_cut");
  });

  it("on /v1/messages ends with an Anthropic error event and no message_stop", async () => {
    const { g, key } = await setup(cutAfterFirstChunk);
    const res = await g.fetch("/v1/messages", post(messages("solo", true), key.secret));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.endsWith("\n\n")).toBe(true);
    expect(text).toContain("event: content_block_delta");
    expect(text).not.toContain("message_stop");
    const last = text.trim().split("\n\n").at(-1) as string;
    expect(last.split("\n")[0]).toBe("event: error");
    expect(JSON.parse(last.split("\n")[1]?.slice(6) as string)).toEqual({
      type: "error",
      error: { type: "api_error", message: "The upstream stream ended before it was complete." },
    });
  });

  it("from a native provider (Anthropic, before message_stop) ends with the error event", async () => {
    const events = [
      `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude", content: [], usage: { input_tokens: 3, output_tokens: 0 } } })}\n\n`,
      `event: content_block_start\ndata: ${JSON.stringify({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })}\n\n`,
      `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "par" } })}\n\n`,
    ].join("");
    const { g, key } = await setup(() => sse(events));
    const res = await g.fetch(
      "/v1/chat/completions",
      post(chat("claude/claude-sonnet-4-5", true), key.secret),
    );
    expect(res.status).toBe(200);
    const got = await readSse(res);
    expect(got.join("")).toContain('"content":"par"');
    expect(got).not.toContain("[DONE]");
    expect(JSON.parse(got.at(-1) as string).error.code).toBe("upstream_stream_cut");
  });
});

describe("An upstream error page", () => {
  it("is quoted by its title, not echoed whole into error.message", async () => {
    const page = `<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body>${"<p>lorem ipsum</p>".repeat(200)}</body></html>`;
    const { g, key } = await setup(
      () => new Response(page, { status: 503, headers: { "content-type": "text/html" } }),
    );
    const res = await g.fetch("/v1/chat/completions", post(chat("solo"), key.secret));
    const body = await expectError(res, 503, "upstream_error");
    expect(body.error.message).toBe("503 Service Temporarily Unavailable");
  });

  it("without a title is cut to a short single line of its text", async () => {
    const page = `<html><body><h1>Oops</h1>\n<script>var x = "<secret>";</script><p>${"word ".repeat(300)}</p></body></html>`;
    const { g, key } = await setup(
      () => new Response(page, { status: 500, headers: { "content-type": "text/html" } }),
    );
    const res = await g.fetch("/v1/chat/completions", post(chat("solo"), key.secret));
    const body = await expectError(res, 500, "upstream_error");
    expect(body.error.message.startsWith("Oops word word")).toBe(true);
    expect(body.error.message.length).toBeLessThanOrEqual(200);
    expect(body.error.message).not.toMatch(/[<>\n]|secret/);
  });
});
