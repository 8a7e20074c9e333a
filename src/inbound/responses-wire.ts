import { CUT_MESSAGE, completionBody, type FinishReason, type ToolCall, wireUsage } from "../formats/chunks";
import { flatName } from "../formats/responses-tools";
import { formatSse } from "../formats/sse";
import type { Usage } from "../formats/usage";
import type { StreamSource, StreamTiming } from "../pipeline/stream";
import type { WatchedWire } from "./types";
import { watchWire } from "./wire-watch";

type Json = Record<string, unknown>;

const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Json =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};

/** A Response's `usage` → the gateway's (cached input and reasoning output are parts of the totals, as in chat). */
export function responsesUsage(u: unknown): Usage | null {
  if (typeof u !== "object" || u === null) return null;
  const o = u as Json;
  return {
    inputTokens: n(o.input_tokens),
    outputTokens: n(o.output_tokens),
    cachedInputTokens: n(obj(o.input_tokens_details).cached_tokens),
    cacheWriteTokens: n(obj(o.input_tokens_details).cache_write_tokens),
    reasoningTokens: n(obj(o.output_tokens_details).reasoning_tokens),
  };
}

/** Why a Response is incomplete (`incomplete_details.reason`) as a finish reason. */
const INCOMPLETE: Record<string, FinishReason> = {
  max_output_tokens: "length",
  content_filter: "content_filter",
};

/**
 * A Response object in the canonical form (a `chat.completion`), for the stages (the cache keeps canonical
 * answers): message text, function calls (a namespace's flattened as the translation names them) and reasoning
 * summaries. Built-in tools' items (web search calls and the like) have no canonical form and are left out.
 */
export function canonicalOfResponse(json: unknown): string {
  const r = obj(json);
  let text: string | null = null;
  let reasoning = "";
  const toolCalls: ToolCall[] = [];
  for (const raw of Array.isArray(r.output) ? r.output : []) {
    const item = obj(raw);
    if (item.type === "message") {
      for (const p of Array.isArray(item.content) ? item.content : []) {
        const part = obj(p);
        if (part.type === "output_text") text = (text ?? "") + String(part.text ?? "");
      }
    } else if (item.type === "function_call") {
      const name = String(item.name ?? "");
      toolCalls.push({
        id: String(item.call_id ?? ""),
        name: typeof item.namespace === "string" ? flatName(item.namespace, name) : name,
        arguments: String(item.arguments ?? ""),
      });
    } else if (item.type === "reasoning") {
      for (const s of Array.isArray(item.summary) ? item.summary : []) reasoning += String(obj(s).text ?? "");
    }
  }
  const reason = String(obj(r.incomplete_details).reason ?? "");
  const finish: FinishReason =
    r.status === "incomplete"
      ? (INCOMPLETE[reason] ?? "length")
      : toolCalls.length > 0
        ? "tool_calls"
        : "stop";
  const usage = responsesUsage(r.usage);
  return JSON.stringify(
    completionBody({
      id: String(r.id ?? ""),
      model: String(r.model ?? ""),
      content: text,
      toolCalls,
      finishReason: finish,
      reasoning: reasoning || undefined,
      usage: usage
        ? wireUsage({
            input: usage.inputTokens,
            output: usage.outputTokens,
            cachedInput: usage.cachedInputTokens,
            cacheWrite: usage.cacheWriteTokens,
            reasoning: usage.reasoningTokens,
          })
        : null,
    }),
  );
}

/** Events whose `delta` is text the answer carries (counted for a cut stream's token estimate). */
const DELTAS = new Set([
  "response.output_text.delta",
  "response.function_call_arguments.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.refusal.delta",
]);

/**
 * Passes a Responses event stream to the client byte for byte while reading its usage and end from
 * `response.completed` / `response.incomplete` (whose Response is the stream's `final`), and its failure from
 * `response.failed` or an `error` event. A stream cut before any of them ends with an `error` event
 * (`upstream_stream_cut`, numbered after the last event), which the openai SDK throws as an APIError.
 */
export function watchResponsesStream(
  upstream: StreamSource,
  assemble: boolean,
  timing?: StreamTiming,
): WatchedWire {
  let final: Json | null = null;
  let completed = false;
  let error: string | null = null;
  let streamedChars = 0;
  let sequence = -1;
  return watchWire(
    upstream,
    {
      event(d) {
        if (typeof d.sequence_number === "number") sequence = d.sequence_number;
        const type = String(d.type ?? "");
        if (DELTAS.has(type)) streamedChars += String(d.delta ?? "").length;
        else if (type === "response.completed" || type === "response.incomplete") {
          final = obj(d.response);
          completed = true;
        } else if (type === "response.failed") {
          final = obj(d.response);
          error = String(obj(final.error).code ?? "server_error");
        } else if (type === "error") error = String(d.code ?? "server_error");
      },
      ended: () => completed || error !== null,
      cutEvent: (why) =>
        formatSse(
          JSON.stringify({
            type: "error",
            code: why?.code ?? "upstream_stream_cut",
            message: why?.message ?? CUT_MESSAGE,
            param: null,
            sequence_number: sequence + 1,
          }),
          "error",
        ),
      outcome: (cut) => ({
        usage: responsesUsage(final?.usage),
        completed,
        streamedChars,
        error: cut ?? error,
        text: assemble && completed && final ? canonicalOfResponse(final) : null,
        final,
      }),
    },
    timing,
  );
}
