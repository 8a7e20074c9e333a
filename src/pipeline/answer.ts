import { streamErrorOf } from "../formats/chunks";
import { SseParser } from "../formats/sse";
import { GatewayError } from "../http/errors";
import { invalidAnswer, readJsonAnswer } from "../providers/translate";
import type { Operation, WireFormat } from "../providers/types";

/** Bytes of a stream read while looking for its first event before it is declared unreadable. */
const MAX_PEEK_BYTES = 64 * 1024;

/** A 2xx answer, read far enough to know it is what it claims: the JSON read whole, or the stream to pass on. */
export interface CheckedAnswer {
  /** Status and headers; the body only for streams (a JSON answer's body is in `read`). */
  response: Response;
  /** JSON answers: the body's text and its parse (read once: usage comes from here). Null for streams. */
  read: { text: string; json: Record<string, unknown> } | null;
}

/**
 * Checks a 2xx answer — canonical (OpenAI-wire), or in `wire` format for a passthrough — before anything reaches the client, so that an unreadable one
 * is an upstream failure the route retries and fails over from rather than a "success":
 * - JSON: the body must be a JSON object with `choices` (chat) or `data` (embeddings) — `content` (Anthropic) or
 *   `output` (a Response) for a passthrough;
 * - a stream: its first event must arrive, be JSON and not `[DONE]`; an `{"error": …}` first event is the
 *   upstream failing (a 502 with its message). The bytes read are replayed in front of the rest.
 * Throws a 502 GatewayError (`upstream_invalid_response`, or `upstream_error` for a first-event error).
 */
export async function checkAnswer(
  res: Response,
  op: Operation,
  stream: boolean,
  provider: string,
  wire: WireFormat | null = null,
): Promise<CheckedAnswer> {
  const firstError =
    wire === "anthropic"
      ? anthropicStreamError
      : wire === "openai-responses"
        ? responsesStreamError
        : streamErrorOf;
  if (stream && op === "chat") return { response: await peekStream(res, provider, firstError), read: null };
  const { json, text } = await readJsonAnswer(res, provider);
  const field =
    wire === "anthropic"
      ? "content"
      : wire === "openai-responses"
        ? "output"
        : op === "chat"
          ? "choices"
          : "data";
  if (!Array.isArray(json[field])) throw invalidAnswer(provider, `its answer has no '${field}' array`);
  // The body is read; the response still carries the status and headers the pipeline reads.
  return { response: res, read: { text, json } };
}

/** An Anthropic stream's `error` event, read like an OpenAI in-stream error. */
function anthropicStreamError(data: string): ReturnType<typeof streamErrorOf> {
  try {
    const e = JSON.parse(data) as { type?: unknown; error?: { type?: unknown; message?: unknown } };
    if (e.type !== "error") return null;
    const type = typeof e.error?.type === "string" ? e.error.type : "api_error";
    const message = typeof e.error?.message === "string" ? e.error.message : "stream error";
    return { message, type, code: type };
  } catch {
    return null;
  }
}

/** A Responses stream that fails at once: an `error` event, or `response.failed` with the response's error. */
function responsesStreamError(data: string): ReturnType<typeof streamErrorOf> {
  try {
    const e = JSON.parse(data) as {
      type?: unknown;
      code?: unknown;
      message?: unknown;
      response?: { error?: Json };
    };
    const err =
      e.type === "error" ? (e as Json) : e.type === "response.failed" ? (e.response?.error ?? {}) : null;
    if (!err) return null;
    const code = typeof err.code === "string" ? err.code : "server_error";
    const message = typeof err.message === "string" ? err.message : "stream error";
    return { message, type: code, code };
  } catch {
    return null;
  }
}

type Json = Record<string, unknown>;

async function peekStream(
  res: Response,
  provider: string,
  firstError: typeof streamErrorOf,
): Promise<Response> {
  if (!res.body) throw invalidAnswer(provider, "the stream was empty");
  const reader = res.body.getReader();
  const seen: Uint8Array[] = [];
  let bytes = 0;
  let first: string | undefined;
  const parser = new SseParser((e) => {
    first ??= e.data;
  });
  const decoder = new TextDecoder();
  const refuse = (e: GatewayError): never => {
    reader.cancel(e).catch(() => {});
    throw e;
  };
  while (first === undefined) {
    const { done, value } = await reader.read();
    if (done) {
      parser.push(decoder.decode());
      parser.end();
      if (first === undefined) refuse(invalidAnswer(provider, "the stream ended without any event"));
      break;
    }
    seen.push(value);
    bytes += value.byteLength;
    parser.push(decoder.decode(value, { stream: true }));
    if (first === undefined && bytes > MAX_PEEK_BYTES) {
      refuse(invalidAnswer(provider, `the stream sent no event in its first ${MAX_PEEK_BYTES} bytes`));
    }
  }
  const data = first as string;
  if (data === "[DONE]") refuse(invalidAnswer(provider, "the stream ended before any chunk"));
  try {
    JSON.parse(data);
  } catch {
    refuse(invalidAnswer(provider, "the stream's first event is not JSON"));
  }
  const failure = firstError(data);
  if (failure) {
    refuse(
      new GatewayError(
        "upstream_error",
        `Provider '${provider}' failed at the start of its stream: ${failure.message ?? "stream error"}`,
        { status: 502, wireCode: failure.code ?? "upstream_error" },
      ),
    );
  }
  return new Response(replay(seen, reader), { status: res.status, headers: res.headers });
}

/** The bytes already read, then the rest of the reader's stream. */
function replay(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = head.shift();
        if (next) {
          controller.enqueue(next);
          return;
        }
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
