// A local upstream for the bench: POST /v1/chat/completions (OpenAI format, plain JSON or SSE) and POST
// /v1/messages (Anthropic format, plain JSON: the agent-sized passthrough run). It runs in its own process (forked by startUpstream) so it does not share an event loop with the load generator.
import { fork } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

const USAGE = { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 };
const WORDS = ["Hello", " from", " the", " bench", " upstream", "."];
/** Events of a stream that asks for usage: the role chunk, a chunk per word, the finish, the usage, [DONE]. */
export const STREAM_EVENTS = WORDS.length + 4;

function chunk(id, model, delta, finish = null) {
  return {
    id,
    object: "chat.completion.chunk",
    created: 0,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

/** An Anthropic Messages answer, or Anthropic's 400 for a body without model, max_tokens or messages. */
function answerMessages(raw, res) {
  const body = JSON.parse(raw);
  if (
    typeof body.model !== "string" ||
    typeof body.max_tokens !== "number" ||
    !Array.isArray(body.messages)
  ) {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        type: "error",
        error: { type: "invalid_request_error", message: "model, max_tokens and messages are required" },
      }),
    );
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id: "msg_bench",
      type: "message",
      role: "assistant",
      model: body.model,
      content: [{ type: "text", text: WORDS.join("") }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: 50_000,
        output_tokens: 6,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    }),
  );
}

/** The upstream server: `ttfbMs` delays the response headers, `chunkGapMs` spaces stream chunks. */
function createUpstream({ ttfbMs = 0, chunkGapMs = 0 } = {}) {
  return createServer(async (req, res) => {
    let raw = "";
    for await (const part of req) raw += part;
    if (req.method === "POST" && req.url === "/v1/messages") {
      answerMessages(raw, res);
      return;
    }
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(raw);
    const id = "chatcmpl-bench";
    if (ttfbMs > 0) await sleep(ttfbMs);
    if (!body.stream) {
      const message = { role: "assistant", content: WORDS.join("") };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created: 0,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: "stop" }],
          usage: USAGE,
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const events = [
      chunk(id, body.model, { role: "assistant", content: "" }),
      ...WORDS.map((w) => chunk(id, body.model, { content: w })),
      chunk(id, body.model, {}, "stop"),
    ];
    if (body.stream_options?.include_usage)
      events.push({ ...chunk(id, body.model), choices: [], usage: USAGE });
    for (const [i, e] of events.entries()) {
      if (i > 0 && chunkGapMs > 0) await sleep(chunkGapMs);
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  });
}

/** Forks this module as a server on a free 127.0.0.1 port; resolves to `{ url, stop }` (url ends in /v1). */
export async function startUpstream(opts = {}) {
  const child = fork(import.meta.filename, [JSON.stringify(opts)], { stdio: "inherit" });
  const [port] = await Promise.race([
    once(child, "message"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`upstream exited (${code})`))),
  ]);
  return {
    url: `http://127.0.0.1:${port}/v1`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill();
      await exited;
    },
  };
}

if (import.meta.main) {
  const server = createUpstream(JSON.parse(process.argv[2] ?? "{}"));
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send(server.address().port));
  process.on("disconnect", () => process.exit(0)); // never outlive the bench
}
