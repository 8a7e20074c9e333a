import { type FinishReason, rewriteCanonical, type WireUsage } from "./chunks";

/**
 * The Anthropic Messages wire format inbound (`POST /v1/messages`): translators of canonical (OpenAI) answers
 * and streams into Anthropic's, and (from anthropic-request.ts) the request schema and its translation into
 * the canonical form. Clients of API versions 2023-06-01 and 2026-10-21 are both served; the version is read
 * from the `anthropic-version` header.
 */

export {
  fromMessagesRequest,
  type MessagesEnvelope,
  type MessagesRequest,
  messageBlocksSchema,
  messagesEnvelopeSchema,
  messagesRequestSchema,
} from "./anthropic-request";

type Json = Record<string, unknown>;

/** Error types Anthropic's API and SDKs know; any other in-stream error is sent as `api_error`. */
const ANTHROPIC_ERROR_TYPES = new Set([
  "invalid_request_error",
  "authentication_error",
  "billing_error",
  "permission_error",
  "not_found_error",
  "request_too_large",
  "rate_limit_error",
  "timeout_error",
  "api_error",
  "overloaded_error",
]);

/** Canonical finish reasons → Anthropic stop reasons. */
const STOP: Record<FinishReason, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

/** Canonical usage → Anthropic usage (whose input_tokens excludes cache reads and writes). */
export function toAnthropicUsage(u: WireUsage | null | undefined, version: string): Json {
  const cached = u?.prompt_tokens_details?.cached_tokens ?? 0;
  const written = u?.prompt_tokens_details?.cache_creation_tokens ?? 0;
  const out: Json = {
    input_tokens: Math.max(0, (u?.prompt_tokens ?? 0) - cached - written),
    output_tokens: u?.completion_tokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: written,
  };
  if (version === "2026-10-21") {
    out.output_tokens_details = { thinking_tokens: u?.completion_tokens_details?.reasoning_tokens ?? 0 };
  }
  return out;
}

const parseInput = (args: string): unknown => {
  try {
    return JSON.parse(args || "{}");
  } catch {
    return {};
  }
};

/** A canonical `chat.completion` body → an Anthropic message. */
export function toAnthropicMessage(json: Json, version: string): Json {
  const choice = ((json.choices as Json[] | undefined) ?? [])[0] ?? {};
  const msg = (choice.message ?? {}) as Json;
  const content: Json[] = [];
  if (typeof msg.content === "string" && msg.content) content.push({ type: "text", text: msg.content });
  for (const t of (msg.tool_calls as Json[] | undefined) ?? []) {
    const fn = (t.function ?? {}) as Json;
    content.push({
      type: "tool_use",
      id: t.id,
      name: fn.name,
      input: parseInput(String(fn.arguments ?? "")),
    });
  }
  return {
    id: anthropicId(String(json.id ?? "")),
    type: "message",
    role: "assistant",
    model: json.model,
    content,
    stop_reason: STOP[choice.finish_reason as FinishReason] ?? "end_turn",
    stop_sequence: null,
    usage: toAnthropicUsage(json.usage as WireUsage | undefined, version),
  };
}

const anthropicId = (id: string) => (id.startsWith("msg_") ? id : `msg_${id.replace(/^chatcmpl-/, "")}`);

/**
 * Canonical chunk SSE → Anthropic stream events (message_start, content_block_start/delta/stop,
 * message_delta, message_stop; error). One content block is open at a time: text, or one tool_use per
 * tool call.
 */
export function toAnthropicStream(
  canonical: ReadableStream<Uint8Array>,
  version: string,
): ReadableStream<Uint8Array> {
  return rewriteCanonical(canonical, (emit) => {
    const send = (event: string, data: Json) => emit(event, { type: event, ...data });
    let started = false;
    let index = -1;
    let open: "text" | number | null = null;
    let finish: FinishReason | null = null;
    let usage: WireUsage | null = null;
    let ended = false;

    const close = () => {
      if (open !== null) send("content_block_stop", { index });
      open = null;
    };
    const start = (id: string, model: string) => {
      if (started) return;
      started = true;
      send("message_start", {
        message: {
          id: anthropicId(id),
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: toAnthropicUsage(null, version),
        },
      });
    };
    const end = () => {
      if (ended || !started) return;
      ended = true;
      close();
      send("message_delta", {
        delta: { stop_reason: STOP[finish ?? "stop"], stop_sequence: null },
        usage: toAnthropicUsage(usage, version),
      });
      send("message_stop", {});
    };
    const error = (err: Json) => {
      // A gateway timeout (a stream gone idle, the deadline) is Anthropic's `timeout_error`.
      const type = ANTHROPIC_ERROR_TYPES.has(String(err.type))
        ? String(err.type)
        : err.code === "upstream_timeout"
          ? "timeout_error"
          : "api_error";
      send("error", { error: { type, message: String(err.message ?? "") } });
      ended = true;
    };
    const chunk = (c: Json) => {
      start(String(c.id ?? ""), String(c.model ?? ""));
      if (c.usage) usage = c.usage as WireUsage;
      const choice = ((c.choices as Json[] | undefined) ?? [])[0];
      if (!choice) return;
      const delta = (choice.delta ?? {}) as Json;
      if (typeof delta.content === "string" && delta.content) {
        if (open !== "text") {
          close();
          index++;
          open = "text";
          send("content_block_start", { index, content_block: { type: "text", text: "" } });
        }
        send("content_block_delta", { index, delta: { type: "text_delta", text: delta.content } });
      }
      for (const t of (delta.tool_calls as Json[] | undefined) ?? []) {
        const fn = (t.function ?? {}) as Json;
        if (t.id !== undefined && open !== Number(t.index)) {
          close();
          index++;
          open = Number(t.index);
          send("content_block_start", {
            index,
            content_block: { type: "tool_use", id: t.id, name: fn.name, input: {} },
          });
        }
        if (typeof fn.arguments === "string" && fn.arguments) {
          send("content_block_delta", {
            index,
            delta: { type: "input_json_delta", partial_json: fn.arguments },
          });
        }
      }
      if (choice.finish_reason) finish = choice.finish_reason as FinishReason;
    };
    return { chunk, error, done: end, end };
  });
}
