import * as z from "zod";
import type { FinishReason, WireUsage } from "./chunks";
import { formatSse, SseParser } from "./sse";
import { byType } from "./typed";

/**
 * The Anthropic Messages wire format inbound (`POST /v1/messages`): the request schema, and translators
 * between it and the canonical (OpenAI) form. Clients of API versions 2023-06-01 and 2026-10-21 are both
 * served; the version is read from the `anthropic-version` header.
 */

type Json = Record<string, unknown>;

const textBlock = z.looseObject({ text: z.string() });
const imageBlock = z.looseObject({
  source: byType({
    base64: z.looseObject({ media_type: z.string().min(1), data: z.string() }),
    url: z.looseObject({ url: z.string().min(1) }),
  }),
});
/** Content blocks: the types the translation reads are checked (SDK 1.12's types); others pass as they are. */
const block = byType({
  text: textBlock,
  image: imageBlock,
  document: z.looseObject({ source: z.looseObject({ type: z.string().min(1) }) }),
  tool_use: z.looseObject({
    id: z.string().min(1),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
  }),
  tool_result: z.looseObject({
    tool_use_id: z.string().min(1),
    content: z.union([z.string(), z.array(byType({ text: textBlock, image: imageBlock }))]).optional(),
    is_error: z.boolean().optional(),
  }),
  thinking: z.looseObject({ thinking: z.string(), signature: z.string().optional() }),
  redacted_thinking: z.looseObject({ data: z.string() }),
});

export const messagesRequestSchema = z.looseObject({
  model: z.string({ message: "Field required" }).min(1, "Field required"),
  max_tokens: z.number({ message: "Field required" }).int().min(1, "must be at least 1"),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(["user", "assistant", "system"]),
        content: z.union([z.string(), z.array(block)]),
      }),
      { message: "Field required" },
    )
    .min(1, "at least one message is required"),
  system: z.union([z.string(), z.array(byType({ text: textBlock }))]).optional(),
  stream: z.boolean().optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  tools: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .optional(),
  tool_choice: z
    .looseObject({
      type: z.enum(["auto", "any", "tool", "none"]),
      name: z.string().min(1).optional(),
      disable_parallel_tool_use: z.boolean().optional(),
    })
    .refine((c) => c.type !== "tool" || c.name !== undefined, {
      message: "name is required when type is 'tool'",
      path: ["name"],
    })
    .optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

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

const textOfBlocks = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? (content as Json[]).map((b) => (b.type === "text" ? String(b.text ?? "") : "")).join("")
      : "";

/** An Anthropic image block → an OpenAI `image_url` part. */
function imagePart(b: Json): Json | null {
  const src = (b.source ?? {}) as Json;
  if (src.type === "base64")
    return { type: "image_url", image_url: { url: `data:${src.media_type};base64,${src.data}` } };
  if (src.type === "url") return { type: "image_url", image_url: { url: src.url } };
  return null;
}

/** Request fields the translation carries; any other (thinking, cache_control, service_tier, …) is dropped. */
const REQUEST_FIELDS = new Set([
  "model",
  "max_tokens",
  "messages",
  "system",
  "stream",
  "stop_sequences",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "metadata",
]);

/** Content blocks the translation carries, by role; others (documents, thinking, server tool blocks) are dropped. */
const TRANSLATED_BLOCKS: Record<string, string[]> = {
  user: ["text", "image", "tool_result"],
  assistant: ["text", "tool_use"],
  system: ["text"],
};

/**
 * An Anthropic Messages request → the canonical OpenAI chat request (always asking for stream usage), and the
 * request parts it could not carry (named like `messages[1].content[0]`, `thinking`, `tools`).
 */
export function fromMessagesRequest(req: MessagesRequest): { body: Json; dropped: string[] } {
  const dropped = new Set(Object.keys(req).filter((k) => !REQUEST_FIELDS.has(k)));
  const messages: Json[] = [];
  if (req.system !== undefined) messages.push({ role: "system", content: textOfBlocks(req.system) });
  req.messages.forEach((m, i) => {
    const blocks: Json[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    blocks.forEach((b, j) => {
      if (!(TRANSLATED_BLOCKS[m.role] ?? []).includes(String(b.type)))
        dropped.add(`messages[${i}].content[${j}]`);
    });
    if (m.role === "system") {
      messages.push({ role: "system", content: textOfBlocks(blocks) });
    } else if (m.role === "assistant") {
      const toolCalls = blocks
        .filter((b) => b.type === "tool_use")
        .map((b) => ({
          id: b.id,
          type: "function",
          function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
        }));
      const text = textOfBlocks(blocks);
      messages.push({
        role: "assistant",
        content: text || null,
        ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      });
    } else {
      const parts: Json[] = [];
      for (const b of blocks) {
        if (b.type === "tool_result") {
          messages.push({ role: "tool", tool_call_id: b.tool_use_id, content: textOfBlocks(b.content) });
        } else if (b.type === "text") parts.push({ type: "text", text: b.text });
        else if (b.type === "image") {
          const p = imagePart(b);
          if (p) parts.push(p);
        }
      }
      if (parts.length > 0) messages.push({ role: "user", content: parts });
    }
  });
  const body: Json = { model: req.model, messages, max_tokens: req.max_tokens };
  if (req.stop_sequences) body.stop = req.stop_sequences;
  for (const k of ["temperature", "top_p", "top_k"] as const) if (req[k] !== undefined) body[k] = req[k];
  if (req.metadata?.user_id) body.user = req.metadata.user_id;
  const tools = (req.tools ?? []).filter((t) => t.input_schema !== undefined);
  if (tools.length < (req.tools?.length ?? 0)) dropped.add("tools");
  if (tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.input_schema,
      },
    }));
  }
  const choice = req.tool_choice;
  if (choice) {
    body.tool_choice =
      choice.type === "any"
        ? "required"
        : choice.type === "tool"
          ? { type: "function", function: { name: choice.name } }
          : choice.type;
    if (choice.disable_parallel_tool_use === true) body.parallel_tool_calls = false;
  }
  if (req.stream === true) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return { body, dropped: [...dropped] };
}

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
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let out!: TransformStreamDefaultController<Uint8Array>;
  const send = (event: string, data: Json) =>
    out.enqueue(enc.encode(formatSse(JSON.stringify({ type: event, ...data }), event)));
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
  const parser = new SseParser((e) => {
    if (e.data === "[DONE]") {
      end();
      return;
    }
    let c: Json;
    try {
      c = JSON.parse(e.data) as Json;
    } catch {
      return;
    }
    if (c.error) {
      const err = c.error as Json;
      const type = ANTHROPIC_ERROR_TYPES.has(String(err.type)) ? String(err.type) : "api_error";
      send("error", { error: { type, message: String(err.message ?? "") } });
      ended = true;
      return;
    }
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
        end();
      },
    }),
  );
}
