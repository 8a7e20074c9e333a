import { CUT_MESSAGE, streamError, streamErrorOf } from "../formats/chunks";
import { formatSse, SseParser } from "../formats/sse";
import { fromOpenAIUsage, type Usage } from "../formats/usage";

/** Text a chunk adds (content, reasoning, tool-call arguments), counted for a cut stream's token estimate. */
const DELTA_TEXT = /"(?:content|reasoning_content|reasoning|arguments)":"((?:[^"\\]|\\.)*)"/g;

/** A chunk carrying usage (`"usage":{…}`), not the `"usage":null` that rides on every chunk once usage is asked for. */
const USAGE_OBJECT = /"usage"\s*:\s*\{/;

/**
 * A stream partly read already (answer.ts holds a stream until its first content event): the bytes read, then
 * the rest from the reader. Relayed as it stands, without a second stream in front of it.
 */
export interface HeldStream {
  head: Uint8Array | null;
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

/** What a watcher relays: a stream, or one that answer.ts held until its first content event. */
export type StreamSource = ReadableStream<Uint8Array> | HeldStream;

export interface WatchedStream {
  body: ReadableStream<Uint8Array>;
  /** Settles when the stream ends, fails or is cancelled, with the usage seen (null if none came). */
  done: Promise<StreamOutcome>;
}

export interface StreamOutcome {
  usage: Usage | null;
  completed: boolean;
  /** Characters of text the stream carried (content, reasoning, tool arguments): a cut stream's estimate. */
  streamedChars: number;
  /** The code of the error event the stream ended with (the upstream's, or `upstream_stream_cut`); null if none. */
  error: string | null;
}

/**
 * Passes an OpenAI chat SSE stream to the client as it arrives while watching it for usage.
 * Bytes pass through untouched unless `stripUsage` is set (the client did not ask for usage but the gateway
 * did): then the usage-only chunk is held back, and events are re-framed one by one.
 * Only events that carry a usage object (or an error) are JSON-parsed; `tap` sees every event's data (the
 * cache assembles a streamed answer with it).
 * A stream that breaks off, or ends without `[DONE]` or an error event, is ended with an `upstream_stream_cut`
 * error event (OpenAI's in-stream error shape), so the client reads an error rather than a network failure.
 */
export function watchChatStream(
  upstream: StreamSource,
  stripUsage: boolean,
  tap?: (data: string) => void,
  timing?: StreamTiming,
): WatchedStream {
  let usage: Usage | null = null;
  let completed = false;
  let streamedChars = 0;
  let error: string | null = null;
  let settle!: (v: StreamOutcome) => void;
  const done = new Promise<StreamOutcome>((r) => {
    settle = r;
  });
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let out: ReadableStreamDefaultController<Uint8Array> | undefined;
  let enqueued = 0;
  const emit = (bytes: Uint8Array) => {
    enqueued++;
    out?.enqueue(bytes);
  };

  const parser = new SseParser((e) => {
    let forward = true;
    tap?.(e.data);
    const failure = e.data === "[DONE]" ? null : streamErrorOf(e.data);
    if (e.data === "[DONE]") completed = true;
    else if (failure) error = failure.code ?? failure.type ?? "upstream_error";
    else if (USAGE_OBJECT.test(e.data)) {
      try {
        const chunk = JSON.parse(e.data) as { usage?: unknown; choices?: unknown[] };
        const u = fromOpenAIUsage(chunk.usage);
        if (u) usage = u;
        if (stripUsage && u && Array.isArray(chunk.choices) && chunk.choices.length === 0) forward = false;
      } catch {
        // Not JSON: forwarded as it came.
      }
    } else if (usage === null) {
      for (const m of e.data.matchAll(DELTA_TEXT)) streamedChars += m[1]?.length ?? 0;
    }
    if (stripUsage && forward) emit(encoder.encode(formatSse(e.data, e.event)));
  });

  const finish = () => settle({ usage, completed, streamedChars, error });
  const cut = (why?: StreamCut) => {
    if (completed || error !== null) return;
    error = why?.code ?? "upstream_stream_cut";
    emit(streamError(why?.message ?? CUT_MESSAGE, "upstream_error", error));
  };
  const body = relaySse(
    upstream,
    {
      attach: (controller) => {
        out = controller;
      },
      count: () => enqueued,
      chunk(value) {
        if (!stripUsage) emit(value);
        parser.push(decoder.decode(value, { stream: true }));
      },
      end(broken, why) {
        if (!broken) {
          parser.push(decoder.decode());
          parser.end();
        }
        cut(why);
      },
      finish,
    },
    timing,
  );
  return { body, done };
}

/** Limits on a stream once it is flowing: the longest gap between chunks, and the call's deadline (epoch ms). */
export interface StreamTiming {
  idleMs?: number | undefined;
  deadlineAt?: number | undefined;
}

/** Why the relay ended a stream that the upstream had not ended: a limit of StreamTiming passed. */
export interface StreamCut {
  code: string;
  message: string;
}

/** What `relaySse` asks of a stream watcher. */
export interface RelayHooks {
  /** The output's controller, before anything is read (watchers enqueue through it). */
  attach(controller: ReadableStreamDefaultController<Uint8Array>): void;
  /** How many chunks the watcher has enqueued so far: a pull reads until it grows. */
  count(): number;
  /** An upstream chunk arrived. */
  chunk(value: Uint8Array): void;
  /**
   * The upstream ended (`broken`: it failed rather than closed, or `cut` says which limit ended it); the watcher
   * may enqueue a closing event.
   */
  end(broken: boolean, cut?: StreamCut): void;
  /** The outcome is known (ended, failed or cancelled by the client); called once per way out. */
  finish(): void;
}

/**
 * The one relay of a watched upstream stream: reads on demand (no buffering ahead of the client), hands each
 * chunk to the watcher, lets it close a stream that ended or broke off, and settles on every way out,
 * cancellation included. Used by the canonical stream watch and the passthrough watchers.
 */
export function relaySse(
  upstream: StreamSource,
  hooks: RelayHooks,
  timing: StreamTiming = {},
): ReadableStream<Uint8Array> {
  const held: HeldStream =
    upstream instanceof ReadableStream ? { head: null, reader: upstream.getReader() } : upstream;
  const { reader } = held;
  let head = held.head;
  const { idleMs, deadlineAt } = timing;
  const limited = idleMs !== undefined || deadlineAt !== undefined;
  /** The next chunk (what was held first), or the limit that passed first (a timer only when a limit is set). */
  const next = async (): Promise<ReadableStreamReadResult<Uint8Array> | StreamCut> => {
    if (head) {
      const value = head;
      head = null;
      return { done: false, value };
    }
    if (!limited) return reader.read();
    const untilDeadline = deadlineAt === undefined ? Number.POSITIVE_INFINITY : deadlineAt - Date.now();
    const idle = idleMs ?? Number.POSITIVE_INFINITY;
    const wait = Math.max(0, Math.min(idle, untilDeadline));
    const cut: StreamCut =
      idle <= untilDeadline
        ? { code: "upstream_timeout", message: `The upstream sent nothing for ${idleMs} ms.` }
        : { code: "upstream_timeout", message: "The call's deadline passed before the stream ended." };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const passed = new Promise<StreamCut>((r) => {
      timer = setTimeout(() => r(cut), wait);
    });
    try {
      return await Promise.race([reader.read(), passed]);
    } finally {
      clearTimeout(timer);
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      start: (controller) => hooks.attach(controller),
      async pull(controller) {
        try {
          // Read until something goes out: a pull that enqueues nothing is not called again.
          for (const before = hooks.count(); hooks.count() === before; ) {
            const read = await next();
            if ("code" in read) {
              // A limit passed: the upstream is cancelled, the watcher closes the stream in the client's format.
              reader.cancel(read.message).catch(() => {});
              hooks.end(true, read);
              hooks.finish();
              controller.close();
              return;
            }
            const { done, value } = read;
            if (done) {
              hooks.end(false);
              hooks.finish();
              controller.close();
              return;
            }
            hooks.chunk(value);
          }
        } catch {
          hooks.end(true);
          hooks.finish();
          controller.close();
        }
      },
      async cancel(reason) {
        hooks.finish();
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
