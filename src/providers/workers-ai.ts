import type { ProviderConfig } from "../config/schema";
import { type Completion, type StreamTranslator, translateSse, wireUsage } from "../formats/chunks";
import { embeddingsBody } from "../formats/embeddings";
import { GatewayError } from "../http/errors";
import { nativeAdapter } from "./native";
import { readOpenAIError } from "./openai";
import { textOf } from "./translate";
import type { ProviderAdapter, UpstreamCall } from "./types";

type Config = Extract<ProviderConfig, { type: "workers-ai" }>;
type Json = Record<string, unknown>;

/** What Sluice needs of the Workers AI binding (`env.AI`). */
interface AiBinding {
  run(model: string, inputs: Json, options?: Json): Promise<unknown>;
}

/** Canonical fields that map onto Workers AI text-generation inputs unchanged. */
const SAME = [
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "seed",
  "repetition_penalty",
  "frequency_penalty",
  "presence_penalty",
  "response_format",
  "tools",
] as const;
const CONSUMED = new Set(["model", "messages", "stream", "stream_options", "max_completion_tokens", ...SAME]);

/** Canonical chat request → Workers AI text-generation inputs; images and unknown fields are dropped. */
export function toWorkersAiChat(body: Json): { inputs: Json; dropped: string[] } {
  const dropped = new Set(Object.keys(body).filter((k) => !CONSUMED.has(k)));
  const messages = (body.messages as Json[]).map((m, i) => {
    if (Array.isArray(m.content) && (m.content as Json[]).some((p) => p.type !== "text")) {
      dropped.add(`messages[${i}].content`);
    }
    const out: Json = { role: m.role === "developer" ? "system" : m.role, content: textOf(m.content) };
    for (const k of ["name", "tool_call_id", "tool_calls"]) if (m[k] !== undefined) out[k] = m[k];
    return out;
  });
  const inputs: Json = { messages };
  for (const k of SAME) if (body[k] != null) inputs[k] = body[k];
  if (body.max_completion_tokens != null) inputs.max_tokens = body.max_completion_tokens;
  if (body.stream === true) inputs.stream = true;
  return { inputs, dropped: [...dropped] };
}

/** Tool calls in either of the binding's shapes (`{name, arguments}` or OpenAI's) → canonical; ids `call_<first + n>`. */
function toolCalls(raw: unknown, first = 0): Completion["toolCalls"] {
  return ((raw as Json[] | undefined) ?? []).map((t, i) => {
    const fn = (t.function ?? t) as Json;
    const args = fn.arguments;
    return {
      id: typeof t.id === "string" && t.id ? t.id : `call_${first + i}`,
      name: String(fn.name),
      arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}),
    };
  });
}

const usageOf = (u: unknown) => {
  const o = (u ?? {}) as Json;
  return wireUsage({ input: Number(o.prompt_tokens ?? 0), output: Number(o.completion_tokens ?? 0) });
};

/** A text-generation output (`{response, tool_calls, usage}`, or OpenAI's `choices` shape) → canonical. */
export function fromWorkersAiChat(out: Json, model: string): Completion {
  const choice = ((out.choices as Json[] | undefined) ?? [])[0];
  const message = (choice?.message ?? {}) as Json;
  const text = choice ? message.content : out.response;
  const calls = toolCalls(choice ? message.tool_calls : out.tool_calls);
  return {
    id: `chatcmpl-${crypto.randomUUID()}`,
    model,
    content: typeof text === "string" && text !== "" ? text : calls.length > 0 ? null : String(text ?? ""),
    toolCalls: calls,
    finishReason: calls.length > 0 ? "tool_calls" : choice?.finish_reason === "length" ? "length" : "stop",
    usage: usageOf(out.usage),
  };
}

/** The binding's SSE (`data: {"response": "…"}` … usage … `[DONE]`) → canonical chunks. */
export function workersAiStream(): StreamTranslator {
  let usage: Json | undefined;
  let calls = 0;
  let done = false;
  return {
    event(e, w) {
      if (e.data === "[DONE]") {
        done = true;
        return;
      }
      let d: Json;
      try {
        d = JSON.parse(e.data) as Json;
      } catch {
        return;
      }
      if (d.usage) usage = d.usage as Json;
      const delta = (((d.choices as Json[] | undefined) ?? [])[0]?.delta ?? {}) as Json;
      const text = d.response ?? delta.content;
      if (typeof text === "string") w.text(text);
      for (const t of toolCalls(d.tool_calls ?? delta.tool_calls, calls)) {
        w.toolStart(calls, t.id, t.name);
        w.toolArgs(calls++, t.arguments);
      }
    },
    end(w) {
      if (!done) return; // cut before [DONE]: translateBytes says so
      w.finish(calls > 0 ? "tool_calls" : "stop");
      if (usage) w.usage(usageOf(usage));
    },
  };
}

/** Statuses of the binding's internal error codes (Workers AI's error table; "No such model" answers 404 here). */
const CODE_STATUS: Record<string, number> = {
  "3003": 400,
  "3006": 413,
  "3007": 408,
  "3008": 408,
  "3036": 429,
  "3040": 429,
  "3042": 404,
  "5004": 400,
  "5006": 400,
  "5007": 404,
};

/** The status for an error the binding threw (it throws `AiError: <code>: <message>` instead of answering HTTP). */
export function bindingErrorStatus(message: string): number {
  const code = /\b([35]\d{3}):/.exec(message)?.[1];
  if (code && CODE_STATUS[code]) return CODE_STATUS[code];
  if (/no such model/i.test(message)) return 404;
  if (/capacity|rate limit|too many|neurons/i.test(message)) return 429;
  if (/invalid|required|schema/i.test(message)) return 400;
  return 502;
}

/** Calls the binding and answers as an HTTP upstream would: the output, or an OpenAI-shaped error. */
async function runBinding(req: Request, call: UpstreamCall, p: Config): Promise<Response> {
  const ai = call.env[p.binding] as AiBinding | undefined;
  if (typeof ai?.run !== "function") {
    const message = `Workers AI binding '${p.binding}' is not configured: add [ai] binding = "${p.binding}" to wrangler.toml (Workers AI has no local simulator, so it needs a deployed Worker or remote dev).`;
    return Response.json(
      { error: { message, type: "upstream_error", code: "workers_ai_binding_missing" } },
      { status: 503 },
    );
  }
  try {
    const out = await ai.run(call.target.model, (await req.json()) as Json, { signal: call.signal });
    if (out instanceof ReadableStream) {
      return new Response(out, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json(out);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return Response.json(
      { error: { message, type: "workers_ai_error" } },
      { status: bindingErrorStatus(message) },
    );
  }
}

/**
 * The `workers-ai` provider: Cloudflare Workers AI through the `AI` binding (chat, streaming, tools,
 * embeddings such as `@cf/baai/bge-small-en-v1.5`). No HTTP: the base's transport is the binding.
 */
export function workersAiAdapter(p: Config): ProviderAdapter {
  return nativeAdapter({
    strict: p.strict,
    request(call) {
      const url = `https://workers-ai.invalid/${call.op}`;
      if (call.op === "embeddings") {
        const input = call.body.input;
        const text = Array.isArray(input) ? input : [input];
        if (text.some((t) => typeof t !== "string")) {
          throw new GatewayError("unsupported_parameter", "Workers AI embeds text only, not token arrays.", {
            param: "input",
          });
        }
        const dropped = call.body.dimensions !== undefined ? ["dimensions"] : [];
        return { url, headers: {}, body: JSON.stringify({ text }), dropped };
      }
      const { inputs, dropped } = toWorkersAiChat(call.body);
      return { url, headers: {}, body: JSON.stringify(inputs), dropped };
    },
    completion(json, call) {
      if (call.op === "embeddings") {
        const input = call.body.input;
        const texts = (Array.isArray(input) ? input : [input]).map(String);
        const tokens = texts.reduce((s, t) => s + Math.ceil(t.length / 4), 0);
        return embeddingsBody(
          (json as { data: number[][] }).data,
          call.target.model,
          tokens,
          call.body.encoding_format,
        );
      }
      return fromWorkersAiChat(json as Json, call.target.model);
    },
    stream: (body, call) =>
      translateSse(body, workersAiStream(), `chatcmpl-${crypto.randomUUID()}`, call.target.model),
    readError: readOpenAIError,
    fetch: (req, call) => runBinding(req, call, p),
  });
}
