import type { ProviderConfig } from "../config/schema";
import { floatsToBase64 } from "../formats/embeddings";
import { formatSse } from "../formats/sse";

type MockConfig = Extract<ProviderConfig, { type: "mock" }>;
type Json = Record<string, unknown>;

const LOREM =
  "Sluice is a gateway between your applications and the models they call. It keeps keys, limits, caches and costs in one place, so every team ships faster and spends less.";

/**
 * The built-in `mock` provider: an in-process OpenAI-compatible API with deterministic answers, real SSE
 * framing and usage, so the gateway works offline. Knobs: `latencyMs`, `chunkDelayMs`, `failRate`, and
 * models `fail-<status>` (always fail with that status), `echo` (repeats the last user message) or any
 * other name (a fixed paragraph, cut to `max_tokens` words).
 */
export function mockFetch(cfg: MockConfig): (req: Request) => Promise<Response> {
  return async (req) => {
    const body = (await req.json()) as Json;
    await sleep(cfg.latencyMs, req.signal);
    const model = String(body.model);
    const failStatus = /^fail-(\d{3})$/.exec(model)?.[1];
    if (failStatus) return mockError(Number(failStatus), `Mock failure requested by model '${model}'.`);
    if (cfg.failRate > 0 && Math.random() < cfg.failRate)
      return mockError(503, "Mock provider is overloaded.");
    if (req.url.endsWith("/embeddings")) return json(await embeddings(body));
    const answer = chatAnswer(body);
    return body.stream === true
      ? streamChat(body, answer, cfg.chunkDelayMs, req.signal)
      : json(completion(answer));
  };
}

interface Answer {
  id: string;
  model: string;
  content: string | null;
  toolCalls: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  finishReason: "stop" | "length" | "tool_calls";
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Roughly four characters a token, like English text with OpenAI's tokenizers. */
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join(" ");
  }
  return "";
}

function chatAnswer(body: Json): Answer {
  const messages = (body.messages as Json[]) ?? [];
  const last = messages[messages.length - 1] ?? {};
  const promptTokens = messages.reduce((s, m) => s + tokens(textOf(m.content)) + 3, 0);
  const tools = (body.tools as Json[] | undefined) ?? [];
  const id = `chatcmpl-mock${hashCode(JSON.stringify(messages)).toString(36)}`;
  const base = { id, model: String(body.model) };

  const forced = body.tool_choice as Json | string | undefined;
  const wantsTool = tools.length > 0 && last.role === "user" && forced !== "none";
  if (wantsTool) {
    const name =
      typeof forced === "object" && forced
        ? String((forced.function as Json)?.name)
        : toolName(tools[0] ?? {});
    const tool = tools.find((t) => toolName(t) === name) ?? tools[0] ?? {};
    const args = JSON.stringify(exampleArgs((tool.function as Json | undefined)?.parameters));
    return {
      ...base,
      content: null,
      toolCalls: [
        {
          id: `call_mock_${hashCode(name).toString(36)}`,
          type: "function",
          function: { name, arguments: args },
        },
      ],
      finishReason: "tool_calls",
      usage: usage(promptTokens, tokens(args) + 5),
    };
  }

  const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? 0) || Number.POSITIVE_INFINITY;
  let text: string;
  if (last.role === "tool") text = `The tool returned: ${textOf(last.content)}`;
  else if (body.model === "echo") text = `You said: ${textOf(last.content)}`;
  else text = LOREM;
  const words = text.split(" ");
  const cut = words.length > maxTokens;
  const content = cut ? words.slice(0, maxTokens).join(" ") : text;
  return {
    ...base,
    content,
    toolCalls: [],
    finishReason: cut ? "length" : "stop",
    usage: usage(promptTokens, cut ? maxTokens : tokens(content)),
  };
}

function toolName(t: Json): string {
  return String((t.function as Json | undefined)?.name ?? "tool");
}

/** Arguments that satisfy a JSON schema's declared properties, with placeholder values. */
function exampleArgs(schema: unknown): Json {
  const props = ((schema as Json | undefined)?.properties ?? {}) as Record<string, Json>;
  const sample: Record<string, unknown> = {
    string: "example",
    number: 1,
    integer: 1,
    boolean: true,
    array: [],
  };
  return Object.fromEntries(Object.entries(props).map(([k, p]) => [k, sample[String(p.type)] ?? null]));
}

function usage(prompt: number, completion: number): Answer["usage"] {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function completion(a: Answer): Json {
  return {
    id: a.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: a.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: a.content,
          ...(a.toolCalls.length ? { tool_calls: a.toolCalls } : {}),
        },
        finish_reason: a.finishReason,
        logprobs: null,
      },
    ],
    usage: a.usage,
  };
}

/** Streams the answer a word at a time, as OpenAI does: role chunk, deltas, finish, optional usage, [DONE]. */
function streamChat(body: Json, a: Answer, delayMs: number, signal: AbortSignal): Response {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: Json[], extra: Json = {}) =>
    formatSse(
      JSON.stringify({
        id: a.id,
        object: "chat.completion.chunk",
        created,
        model: a.model,
        choices,
        ...extra,
      }),
    );
  const delta = (d: Json, finish: string | null = null) => [
    { index: 0, delta: d, finish_reason: finish, logprobs: null },
  ];

  const parts: string[] = [chunk(delta({ role: "assistant", content: "" }))];
  if (a.content !== null) {
    a.content.split(/(?<= )/).forEach((w) => {
      parts.push(chunk(delta({ content: w })));
    });
  }
  a.toolCalls.forEach((tc, index) => {
    parts.push(
      chunk(
        delta({
          tool_calls: [
            { index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } },
          ],
        }),
      ),
    );
    for (const piece of tc.function.arguments.match(/.{1,8}/gs) ?? []) {
      parts.push(chunk(delta({ tool_calls: [{ index, function: { arguments: piece } }] })));
    }
  });
  parts.push(chunk(delta({}, a.finishReason)));
  const opts = body.stream_options as Json | undefined;
  if (opts?.include_usage === true) parts.push(chunk([], { usage: a.usage }));
  parts.push("data: [DONE]\n\n");

  const enc = new TextEncoder();
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i > 0) await sleep(delayMs, signal);
      const part = parts[i++];
      if (part === undefined) controller.close();
      else controller.enqueue(enc.encode(part));
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
}

/** Deterministic unit vectors derived from the input text, so equal inputs embed equally. */
async function embeddings(body: Json): Promise<Json> {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = Number(body.dimensions ?? 16);
  const data = await Promise.all(
    inputs.map(async (input, index) => {
      const vec = await vectorOf(JSON.stringify(input), dims);
      const embedding = body.encoding_format === "base64" ? floatsToBase64(vec) : Array.from(vec);
      return { object: "embedding", index, embedding };
    }),
  );
  const prompt = inputs.reduce((s: number, x) => s + tokens(JSON.stringify(x)), 0);
  return {
    object: "list",
    data,
    model: String(body.model),
    usage: { prompt_tokens: prompt, total_tokens: prompt },
  };
}

async function vectorOf(text: string, dims: number): Promise<Float32Array> {
  const vec = new Float32Array(dims);
  let seed = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  for (let i = 0; i < dims; i++) {
    if (i > 0 && i % 32 === 0) seed = new Uint8Array(await crypto.subtle.digest("SHA-256", seed));
    vec[i] = ((seed[i % 32] as number) - 127.5) / 127.5;
  }
  const norm = Math.hypot(...vec) || 1;
  return vec.map((v) => v / norm);
}

function mockError(status: number, message: string): Response {
  const type = status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (status === 429) headers["retry-after"] = "1";
  return new Response(JSON.stringify({ error: { message, type, code: null, param: null } }), {
    status,
    headers,
  });
}

function json(body: Json): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

function hashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}
