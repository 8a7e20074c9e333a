import { formatSse, type SseEvent, SseParser } from "./sse";

/** OpenAI finish reasons, the canonical ones every provider's stop reason is mapped to. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Canonical usage on the wire: OpenAI's `usage`, with cache writes added under prompt_tokens_details. */
export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    cache_creation_tokens?: number;
    cache_creation_1h_tokens?: number;
  };
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** Builds canonical usage from a provider's counts (input includes cached and cache-write tokens). */
export function wireUsage(u: {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  reasoning?: number;
}): WireUsage {
  const out: WireUsage = {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
  };
  if (u.cachedInput || u.cacheWrite) {
    out.prompt_tokens_details = {
      cached_tokens: u.cachedInput ?? 0,
      cache_creation_tokens: u.cacheWrite ?? 0,
      ...(u.cacheWrite1h ? { cache_creation_1h_tokens: u.cacheWrite1h } : {}),
    };
  }
  if (u.reasoning) out.completion_tokens_details = { reasoning_tokens: u.reasoning };
  return out;
}

/**
 * Canonical usage for providers whose input count leaves out cache reads and writes (Anthropic, Bedrock):
 * OpenAI's `prompt_tokens` includes them, so they are added back.
 */
export function wireUsageFromUncached(u: {
  uncachedInput: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h?: number;
  output: number;
  reasoning?: number;
}): WireUsage {
  return wireUsage({
    input: u.uncachedInput + u.cacheRead + u.cacheWrite,
    output: u.output,
    cachedInput: u.cacheRead,
    cacheWrite: u.cacheWrite,
    cacheWrite1h: u.cacheWrite1h ?? 0,
    reasoning: u.reasoning ?? 0,
  });
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments. */
  arguments: string;
}

/** A whole canonical answer, for translators of non-streaming responses. */
export interface Completion {
  id: string;
  model: string;
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason | null;
  usage: WireUsage | null;
  /** Reasoning text, when the provider returns it (`reasoning_content`, as DeepSeek and others name it). */
  reasoning?: string | undefined;
}

/** The OpenAI `chat.completion` body for a canonical answer. */
export function completionBody(c: Completion): Record<string, unknown> {
  const message: Record<string, unknown> = { role: "assistant", content: c.content };
  if (c.reasoning) message.reasoning_content = c.reasoning;
  if (c.toolCalls.length > 0) {
    message.tool_calls = c.toolCalls.map((t) => ({
      id: t.id,
      type: "function",
      function: { name: t.name, arguments: t.arguments },
    }));
  }
  return {
    id: c.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: c.model,
    choices: [{ index: 0, message, finish_reason: c.finishReason ?? "stop", logprobs: null }],
    ...(c.usage ? { usage: c.usage } : {}),
  };
}

/**
 * Writes canonical `chat.completion.chunk` events. Translators of provider streams call its methods as the
 * provider's events arrive; it numbers tool calls and frames each chunk as SSE.
 */
export class ChunkWriter {
  private created = Math.floor(Date.now() / 1000);
  private started = false;
  /** A finish reason was written: the provider's stream reached its end. */
  finished = false;
  /** An error event was written: the stream ends there, without `[DONE]`. */
  failed = false;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly out: (bytes: Uint8Array) => void,
    public id: string,
    public model: string,
  ) {}

  private chunk(delta: Record<string, unknown>, finish: FinishReason | null = null): void {
    if (!this.started && !("role" in delta)) this.role();
    this.write({ choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  }

  private write(extra: Record<string, unknown>): void {
    const body = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      ...extra,
    };
    this.out(this.encoder.encode(formatSse(JSON.stringify(body))));
  }

  /** The opening chunk (`role: assistant`); written once, before any other delta. */
  role(): void {
    if (this.started) return;
    this.started = true;
    this.chunk({ role: "assistant", content: "" });
  }

  text(delta: string): void {
    if (delta) this.chunk({ content: delta });
  }

  reasoning(delta: string): void {
    if (delta) this.chunk({ reasoning_content: delta });
  }

  /** Starts tool call number `index` (0-based, in order of appearance). */
  toolStart(index: number, id: string, name: string): void {
    this.chunk({ tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] });
  }

  toolArgs(index: number, args: string): void {
    if (args) this.chunk({ tool_calls: [{ index, function: { arguments: args } }] });
  }

  finish(reason: FinishReason): void {
    if (this.finished) return;
    this.finished = true;
    this.chunk({}, reason);
  }

  /** The usage-only chunk (`choices: []`), as OpenAI sends it last when usage is asked for. */
  usage(u: WireUsage): void {
    this.write({ choices: [], usage: u });
  }

  /** An in-stream error, in OpenAI's shape; the stream then ends (no `[DONE]`). */
  error(message: string, type = "upstream_error", code: string | null = null): void {
    if (this.failed) return;
    this.failed = true;
    this.out(streamError(message, type, code));
  }

  done(): void {
    if (!this.failed) this.out(this.encoder.encode("data: [DONE]\n\n"));
  }
}

/** An in-stream error event in OpenAI's shape (`data: {"error":{…}}`), as the openai SDKs raise it. */
export function streamError(
  message: string,
  type = "upstream_error",
  code: string | null = null,
): Uint8Array {
  return new TextEncoder().encode(formatSse(JSON.stringify({ error: { message, type, code, param: null } })));
}

/** In-stream errors: `{"error": …}` as the first field (OpenAI's shape, and the canonical form's). */
const ERROR_EVENT = /^\s*\{\s*"error"\s*:/;

/** The fields of an in-stream error event (`{"error":{code,type,message}}`); null when the event is not one. */
export function streamErrorOf(
  data: string,
): { code: string | null; type: string | null; message: string | null } | null {
  if (!ERROR_EVENT.test(data)) return null;
  const text = (v: unknown) => (typeof v === "string" && v ? v : null);
  try {
    const err = (JSON.parse(data) as { error?: Record<string, unknown> }).error;
    return { code: text(err?.code), type: text(err?.type), message: text(err?.message) };
  } catch {
    return { code: null, type: null, message: null };
  }
}

/** The in-stream error for a provider stream that broke off or ended before its end. */
export const CUT_MESSAGE = "The upstream stream ended before it was complete.";

/** What a provider's stream translator does with each of its events, and at the end. */
export interface StreamTranslator {
  event(e: SseEvent, w: ChunkWriter): void;
  end(w: ChunkWriter): void;
}

/**
 * Turns a provider's SSE stream into canonical chunks as it arrives, through the one SSE parser.
 * Cancelling the result cancels the upstream.
 */
export function translateSse(
  upstream: ReadableStream<Uint8Array>,
  translator: StreamTranslator,
  id: string,
  model: string,
): ReadableStream<Uint8Array> {
  return translateBytes(upstream, id, model, (w) => {
    const decoder = new TextDecoder();
    const parser = new SseParser((e) => translator.event(e, w));
    return {
      push: (bytes) => parser.push(decoder.decode(bytes, { stream: true })),
      end: () => {
        parser.push(decoder.decode());
        parser.end();
        translator.end(w);
      },
    };
  });
}

/**
 * The pull loop shared by stream translators of any framing (SSE, AWS event-stream): reads the upstream,
 * feeds the decoder, writes what it produced, and ends with `[DONE]` when the provider's stream reached its end
 * (a finish reason), or with an `upstream_stream_cut` error event when it broke off or stopped short.
 */
export function translateBytes(
  upstream: ReadableStream<Uint8Array>,
  id: string,
  model: string,
  decoderFor: (w: ChunkWriter) => { push(bytes: Uint8Array): void; end(): void },
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const queue: Uint8Array[] = [];
  const writer = new ChunkWriter((b) => queue.push(b), id, model);
  const decoder = decoderFor(writer);
  let ended = false;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          while (queue.length === 0 && !ended) {
            const { done, value } = await reader.read();
            if (done) {
              decoder.end();
              if (!writer.finished) writer.error(CUT_MESSAGE, "upstream_error", "upstream_stream_cut");
              writer.done();
              ended = true;
            } else decoder.push(value);
          }
        } catch {
          // The upstream broke off (or sent what the decoder cannot read): the client gets an error event.
          writer.error(CUT_MESSAGE, "upstream_error", "upstream_stream_cut");
          ended = true;
          reader.cancel().catch(() => {});
        }
        if (cancelled) return;
        for (const b of queue.splice(0)) controller.enqueue(b);
        if (ended) controller.close();
      },
      cancel(reason) {
        cancelled = true;
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** What a writer of another wire format does with each part of a canonical chunk stream. */
export interface CanonicalReader {
  /** A `chat.completion.chunk`, parsed. */
  chunk(c: Record<string, unknown>): void;
  /** An in-stream error event (`{"error": …}`). */
  error(err: Record<string, unknown>): void;
  /** `[DONE]`. */
  done(): void;
  /** The stream ended (after `done`, `error`, or neither: cut). */
  end(): void;
}

/**
 * Rewrites a canonical chunk stream into another wire format: each event parsed once and handed to `reader`,
 * whose writes go out through `emit(event, data)` as SSE (`event:` line included). The one reader of canonical
 * streams for the outbound formats (Anthropic messages, OpenAI Responses).
 */
export function rewriteCanonical(
  canonical: ReadableStream<Uint8Array>,
  make: (emit: (event: string, data: Record<string, unknown>) => void) => CanonicalReader,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let out!: TransformStreamDefaultController<Uint8Array>;
  const reader = make((event, data) => out.enqueue(enc.encode(formatSse(JSON.stringify(data), event))));
  const parser = new SseParser((e) => {
    if (e.data === "[DONE]") {
      reader.done();
      return;
    }
    let c: Record<string, unknown>;
    try {
      c = JSON.parse(e.data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (c.error) reader.error(c.error as Record<string, unknown>);
    else reader.chunk(c);
  });
  return canonical.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        out = controller;
      },
      transform(chunk) {
        parser.push(dec.decode(chunk, { stream: true }));
      },
      flush() {
        parser.push(dec.decode());
        parser.end();
        reader.end();
      },
    }),
  );
}
