import { CUT_MESSAGE, completionBody } from "../formats/chunks";
import { formatSse } from "../formats/sse";
import type { Usage } from "../formats/usage";
import type { StreamSource, StreamTiming } from "../pipeline/stream";
import { fromAnthropicMessage } from "../providers/anthropic";
import type { WatchedWire } from "./types";
import { watchWire } from "./wire-watch";

type Json = Record<string, unknown>;

const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * Anthropic usage → the gateway's: input counts cache reads and writes too (Anthropic's `input_tokens` leaves
 * them out); writes split into the 5-minute and the 1-hour kind (`cache_creation`), each priced at its rate.
 */
export function anthropicUsage(u: unknown): Usage | null {
  if (typeof u !== "object" || u === null) return null;
  const o = u as Json;
  const read = n(o.cache_read_input_tokens);
  const split = (o.cache_creation ?? {}) as Json;
  const oneHour = n(split.ephemeral_1h_input_tokens);
  const write = Math.max(n(o.cache_creation_input_tokens), n(split.ephemeral_5m_input_tokens) + oneHour);
  return {
    inputTokens: n(o.input_tokens) + read + write,
    outputTokens: n(o.output_tokens),
    cachedInputTokens: read,
    cacheWriteTokens: write,
    cacheWrite1hTokens: oneHour,
    reasoningTokens: 0,
  };
}

/** A passthrough's JSON answer in the canonical form (what the cache and other stages read). */
export function canonicalOfMessage(json: unknown): string {
  return JSON.stringify(completionBody(fromAnthropicMessage(json)));
}

/**
 * Passes an Anthropic SSE stream to the client byte for byte while reading its usage (`message_start`, then
 * `message_delta`, whose counts win), its end (`message_stop`) and its `error` events. A stream that breaks off
 * or ends without either gets one `event: error` (`api_error`, the cut message), as Anthropic's SDKs expect.
 * With `assemble`, the message is rebuilt from its blocks for the stages that want the answer whole.
 */
export function watchAnthropicStream(
  upstream: StreamSource,
  assemble: boolean,
  timing?: StreamTiming,
): WatchedWire {
  let usage: Json = {};
  let completed = false;
  let error: string | null = null;
  let streamedChars = 0;
  let message: Json | null = null;
  const blocks = new Map<number, Json & { json?: string }>();

  const event = (d: Json) => {
    switch (d.type) {
      case "message_start":
        message = (d.message ?? {}) as Json;
        usage = { ...((message.usage as Json | undefined) ?? {}) };
        break;
      case "content_block_start":
        if (assemble) blocks.set(n(d.index), { ...((d.content_block ?? {}) as Json) });
        break;
      case "content_block_delta": {
        const delta = (d.delta ?? {}) as Json;
        const piece = String(delta.text ?? delta.partial_json ?? delta.thinking ?? "");
        streamedChars += piece.length;
        const b = blocks.get(n(d.index));
        if (!b) break;
        if (delta.type === "text_delta") b.text = String(b.text ?? "") + piece;
        else if (delta.type === "thinking_delta") b.thinking = String(b.thinking ?? "") + piece;
        else if (delta.type === "input_json_delta") b.json = (b.json ?? "") + piece;
        break;
      }
      case "message_delta":
        usage = { ...usage, ...((d.usage as Json | undefined) ?? {}) };
        if (message) message.stop_reason = (d.delta as Json | undefined)?.stop_reason ?? message.stop_reason;
        break;
      case "message_stop":
        completed = true;
        break;
      case "error":
        error = String(((d.error ?? {}) as Json).type ?? "api_error");
        break;
    }
  };

  const whole = (): string | null => {
    if (!assemble || !completed || !message) return null;
    try {
      const content = [...blocks.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, { json, ...b }]) =>
          b.type === "tool_use" ? { ...b, input: json ? JSON.parse(json) : {} } : b,
        );
      return canonicalOfMessage({ ...message, content, usage });
    } catch {
      return null;
    }
  };

  return watchWire(
    upstream,
    {
      event,
      ended: () => completed || error !== null,
      // Anthropic's own error event (its SDKs throw it); a limit's cut is a timeout, as Anthropic names one.
      cutEvent: (why) =>
        formatSse(
          JSON.stringify({
            type: "error",
            error: { type: why ? "timeout_error" : "api_error", message: why?.message ?? CUT_MESSAGE },
          }),
          "error",
        ),
      outcome: (cut) => ({
        usage: anthropicUsage(message ? usage : null),
        completed,
        streamedChars,
        error: cut ?? error,
        text: whole(),
      }),
    },
    timing,
  );
}
