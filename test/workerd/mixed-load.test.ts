import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sluice, serve, startSluice, until } from "../browser/helpers";

/**
 * The production bundle on workerd (each request its own I/O context, as on Cloudflare) under a mix of faulty
 * upstream calls, client hang-ups and bursts. Every call leaves exactly one spend row, and the runtime never
 * reports a promise shared across requests (cross-request resolution, "Promise will never complete", a hung
 * request): the spend batch once handed one request's promise to every request whose row joined it.
 */

const CHUNK = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] })}\n\n`;
const DONE = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })}\n\ndata: [DONE]\n\n`;
const ANSWER = JSON.stringify({
  id: "c",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

/** A loopback OpenAI-compatible upstream that misbehaves by model name; every timer it starts is bounded. */
function faulty(req: IncomingMessage, res: ServerResponse) {
  let raw = "";
  req.on("data", (d: Buffer) => {
    raw += d;
  });
  req.on("end", () => {
    const body = JSON.parse(raw) as { model: string; stream?: boolean };
    const sse = () => res.writeHead(200, { "content-type": "text/event-stream" });
    switch (body.model) {
      case "fail":
        res.writeHead(500, { "content-type": "application/json" });
        res.end('{"error":{"message":"boom","type":"server_error"}}');
        return;
      case "hang": // answers nothing for 3 s; the client hangs up first
        setTimeout(() => res.destroy(), 3000);
        return;
      case "cut": // one chunk, then the connection drops
        sse();
        res.write(CHUNK);
        setTimeout(() => res.destroy(), 20);
        return;
      case "drip": {
        // 20 chunks 50 ms apart; the client hangs up part-way
        sse();
        let sent = 0;
        const t = setInterval(() => {
          if (res.destroyed || sent++ >= 20) {
            clearInterval(t);
            if (!res.destroyed) res.end(DONE);
            return;
          }
          res.write(CHUNK);
        }, 50);
        return;
      }
      default:
        if (body.stream) {
          sse();
          res.end(CHUNK + DONE);
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(ANSWER);
        }
    }
  });
}

describe("The production bundle under mixed faulty load", () => {
  let sluice: Sluice;
  let upstream: { origin: string; stop(): Promise<void> };
  const logs: { level: string; message: string }[] = [];
  let key = "";

  beforeAll(async () => {
    upstream = await serve(faulty);
    const config = {
      providers: { up: { type: "openai-compatible", baseUrl: `${upstream.origin}/v1` } },
      models: {},
    };
    sluice = await startSluice({ GATEWAY_CONFIG: JSON.stringify(config) }, { onLog: (l) => logs.push(l) });
    key = (await sluice.admin<{ key: string }>("POST", "/admin/keys", { name: "load" })).key;
  });

  afterAll(async () => {
    await sluice?.stop();
    await upstream?.stop();
  });

  /** One chat call; the client hangs up after `abortMs` when given. Resolves to its status, or "aborted". */
  async function call(model: string, stream: boolean, abortMs?: number): Promise<number | "aborted"> {
    const ctrl = new AbortController();
    const timer = abortMs === undefined ? undefined : setTimeout(() => ctrl.abort(), abortMs);
    try {
      const res = await fetch(`${sluice.url}/v1/chat/completions`, {
        method: "POST",
        signal: ctrl.signal,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: `up/${model}`, stream, messages: [{ role: "user", content: "hi" }] }),
      });
      await res.text();
      return res.status;
    } catch {
      return "aborted";
    } finally {
      clearTimeout(timer);
    }
  }

  it("leaves one row per call and no cross-request promise", async () => {
    const statuses: (number | "aborted")[] = [];
    const chaos = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const round = await Promise.all([
          call("fail", false),
          call("hang", false, 100),
          call("cut", true),
          call("drip", true, 120),
          call("drip", true, 300),
          call("hang", true, 50),
        ]);
        statuses.push(...round);
      }
    };
    /** `n` calls at concurrency 25, half of them streamed. */
    const burst = async (n: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 25 }, async () => {
          while (next < n) statuses.push(await call("ok", next++ % 2 === 0));
        }),
      );
    };
    await Promise.all([chaos(10), burst(500)]);
    await chaos(10);
    await burst(500);

    expect(statuses).toHaveLength(1120);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1000);
    expect(statuses.filter((s) => s === 500)).toHaveLength(20);
    // Every call reached the pipeline (aborted ones too), so every call has its row.
    await until(
      "every call's spend row",
      async () => {
        const spend = await sluice.admin<{ total: { requests: number } }>("GET", "/admin/spend");
        return spend.total.requests >= statuses.length;
      },
      20_000,
    );
    const spend = await sluice.admin<{ total: { requests: number } }>("GET", "/admin/spend");
    expect(spend.total.requests).toBe(statuses.length);
    const crossRequest = logs.filter((l) =>
      /different request context|never complete|code had hung|Cannot perform I\/O on behalf of a different request/i.test(
        l.message,
      ),
    );
    expect(crossRequest.map((l) => l.message.slice(0, 160))).toEqual([]);
  });
});
