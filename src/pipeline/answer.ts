import { streamErrorOf } from "../formats/chunks";
import { SseParser } from "../formats/sse";
import { GatewayError } from "../http/errors";
import { invalidAnswer, readJsonAnswer } from "../providers/translate";
import type { Operation, WireFormat } from "../providers/types";
import type { HeldStream } from "./stream";

type Json = Record<string, unknown>;
type StreamFailure = ReturnType<typeof streamErrorOf>;

/** Bytes of a stream read while looking for its first content event before it is declared unreadable. */
const MAX_PEEK_BYTES = 64 * 1024;

/**
 * A 2xx answer, read far enough to know it is what it claims: `response` keeps its status and headers, and its
 * body is either read whole (`read`: a JSON answer's text and its parse, read once — usage comes from here) or
 * `held` (a stream: the events read up to its first content event, and the reader of the rest).
 */
export type CheckedAnswer =
  | { response: Response; read: { text: string; json: Json }; held: null }
  | { response: Response; read: null; held: HeldStream };

/** How an answer in one wire format is checked: its JSON body's array, its stream's errors and content. */
interface WireCheck {
  /** The array a JSON chat answer must have. */
  field: string;
  /** An in-stream error event (the upstream failing), or null. */
  failure(data: string, parsed: Json): StreamFailure;
  /** Whether an event carries the answer (text, a tool call, reasoning, its end or usage), not only a preamble. */
  content(parsed: Json): boolean;
}

const str = (v: unknown, fallback: string) => (typeof v === "string" ? v : fallback);

/** The canonical (OpenAI chat) form: content is anything past the role-only chunk (or Azure's filter chunk). */
const CANONICAL: WireCheck = {
  field: "choices",
  failure: (data) => streamErrorOf(data),
  content(d) {
    const choice = Array.isArray(d.choices) ? (d.choices[0] as Json | undefined) : undefined;
    if (!choice) return d.usage != null;
    if (choice.finish_reason != null) return true;
    const delta = (choice.delta ?? {}) as Json;
    if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) return true;
    return ["content", "reasoning_content", "reasoning", "refusal"].some(
      (k) => typeof delta[k] === "string" && delta[k] !== "",
    );
  },
};

const ANTHROPIC_PREAMBLE = new Set(["message_start", "ping", "content_block_start"]);
const RESPONSES_PREAMBLE = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.output_item.added",
  "response.content_part.added",
]);

const CHECKS: Record<WireFormat, WireCheck> = {
  // Anthropic's `error` event, read like an OpenAI in-stream error.
  anthropic: {
    field: "content",
    failure(_data, e) {
      if (e.type !== "error") return null;
      const err = (e.error ?? {}) as Json;
      const type = str(err.type, "api_error");
      return { message: str(err.message, "stream error"), type, code: type };
    },
    content: (d) => !ANTHROPIC_PREAMBLE.has(String(d.type)),
  },
  // A Responses stream fails with an `error` event, or `response.failed` carrying the response's error.
  "openai-responses": {
    field: "output",
    failure(_data, e) {
      const err =
        e.type === "error"
          ? e
          : e.type === "response.failed"
            ? (((e.response as Json)?.error ?? {}) as Json)
            : null;
      if (!err) return null;
      const code = str(err.code, "server_error");
      return { message: str(err.message, "stream error"), type: code, code };
    },
    content: (d) => !RESPONSES_PREAMBLE.has(String(d.type)),
  },
};

/**
 * Checks a 2xx answer — canonical (OpenAI-wire), or in `wire` format for a passthrough — before anything
 * reaches the client, so that an unreadable one is an upstream failure the route retries and fails over from
 * rather than a "success":
 * - JSON: the body must be a JSON object with `choices` (chat) or `data` (embeddings) — `content` (Anthropic) or
 *   `output` (a Response) for a passthrough;
 * - a stream is held until its first content event (peekStream): the events before it must be JSON, not
 *   `[DONE]` and not an error, and the stream must not end before it — else the upstream failed, and since
 *   nothing reached the client the call fails over invisibly. The bytes read are relayed in front of the rest
 *   (`held`).
 * Throws a 502 GatewayError (`upstream_invalid_response`, or `upstream_error` for an error event).
 */
export async function checkAnswer(
  res: Response,
  op: Operation,
  stream: boolean,
  provider: string,
  wire: WireFormat | null = null,
): Promise<CheckedAnswer> {
  const check = wire ? CHECKS[wire] : CANONICAL;
  if (stream && op === "chat")
    return { response: res, read: null, held: await peekStream(res, provider, check) };
  const { json, text } = await readJsonAnswer(res, provider);
  const field = op === "chat" ? check.field : "data";
  if (!Array.isArray(json[field])) throw invalidAnswer(provider, `its answer has no '${field}' array`);
  // The body is read; the response still carries the status and headers the pipeline reads.
  return { response: res, read: { text, json }, held: null };
}

/** Why the events read so far end the peek: content arrived, the upstream failed, or the stream is unreadable. */
type Verdict = { content: true } | { failure: NonNullable<StreamFailure> } | { unreadable: string } | null;

function verdictOf(data: string, first: boolean, check: WireCheck): Verdict {
  if (data === "[DONE]") return { unreadable: "the stream ended before any chunk" };
  let d: unknown;
  try {
    d = JSON.parse(data);
  } catch {
    return {
      unreadable: first
        ? "the stream's first event is not JSON"
        : "the stream sent an event that is not JSON",
    };
  }
  if (typeof d !== "object" || d === null || Array.isArray(d)) return null;
  const failure = check.failure(data, d as Json);
  if (failure) return { failure };
  return check.content(d as Json) ? { content: true } : null;
}

async function peekStream(res: Response, provider: string, check: WireCheck): Promise<HeldStream> {
  if (!res.body) throw invalidAnswer(provider, "the stream was empty");
  const reader = res.body.getReader();
  const seen: Uint8Array[] = [];
  let bytes = 0;
  let events = 0;
  let verdict: Verdict = null;
  const parser = new SseParser((e) => {
    verdict ??= verdictOf(e.data, events++ === 0, check);
  });
  const decoder = new TextDecoder();
  const refuse = (e: GatewayError): never => {
    reader.cancel(e).catch(() => {});
    throw e;
  };
  while (verdict === null) {
    const { done, value } = await reader.read();
    if (done) {
      parser.push(decoder.decode());
      parser.end();
      if (verdict !== null) break;
      refuse(
        invalidAnswer(
          provider,
          events === 0 ? "the stream ended without any event" : "the stream ended before its first token",
        ),
      );
    }
    seen.push(value as Uint8Array);
    bytes += (value as Uint8Array).byteLength;
    parser.push(decoder.decode(value, { stream: true }));
    if (verdict === null && bytes > MAX_PEEK_BYTES) {
      refuse(invalidAnswer(provider, `the stream sent no token in its first ${MAX_PEEK_BYTES} bytes`));
    }
  }
  const v = verdict as NonNullable<Verdict>;
  if ("unreadable" in v) refuse(invalidAnswer(provider, v.unreadable));
  if ("failure" in v) {
    refuse(
      new GatewayError(
        "upstream_error",
        `Provider '${provider}' failed at the start of its stream: ${v.failure.message ?? "stream error"}`,
        { status: 502, wireCode: v.failure.code ?? "upstream_error" },
      ),
    );
  }
  return { head: seen.length <= 1 ? (seen[0] ?? null) : concat(seen, bytes), reader };
}

/** The chunks read while peeking, as one (relayed in one write). */
function concat(chunks: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
