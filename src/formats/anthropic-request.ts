import * as z from "zod";
import { addIssues, byType } from "./typed";

/**
 * Anthropic Messages requests inbound (`POST /v1/messages`): the request schema, and the translation into the
 * canonical (OpenAI chat) form that every non-Anthropic target takes. The translation keeps what it can:
 * system blocks stay separate text parts, `cache_control` markers ride along as a Sluice-internal field (each
 * provider adapter turns them into its own caching or lists them as dropped), `output_config.format` becomes
 * `response_format`, `thinking` and `output_config.effort` become `reasoning_effort`. What the canonical form
 * has no place for is named, as a path in the client's request, in `dropped` (docs/TRANSLATION.md).
 */

type Json = Record<string, unknown>;

/** A prompt-caching breakpoint (`{type: "ephemeral", ttl?}`); carried as it came. */
const cacheControl = z.looseObject({ type: z.string().min(1), ttl: z.string().optional() }).nullish();
const textBlock = z.looseObject({ text: z.string(), cache_control: cacheControl });
const imageBlock = z.looseObject({
  source: byType({
    base64: z.looseObject({ media_type: z.string().min(1), data: z.string() }),
    url: z.looseObject({ url: z.string().min(1) }),
  }),
  cache_control: cacheControl,
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
    cache_control: cacheControl,
  }),
  thinking: z.looseObject({ thinking: z.string(), signature: z.string().optional() }),
  redacted_thinking: z.looseObject({ data: z.string() }),
});

const ROLES = ["user", "assistant", "system"] as const;

/** The messages: a role each, and content a string or a list of `content` items. */
const messagesOf = <T extends z.ZodType>(content: T) =>
  z
    .array(z.looseObject({ role: z.enum(ROLES), content: z.union([z.string(), z.array(content)]) }), {
      message: "Field required",
    })
    .min(1, "at least one message is required");

export const messagesRequestSchema = z.looseObject({
  model: z.string({ message: "Field required" }).min(1, "Field required"),
  max_tokens: z.number({ message: "Field required" }).int().min(1, "must be at least 1"),
  messages: messagesOf(block),
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
        cache_control: cacheControl,
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
  // Types and effort values are strings, not enums: a value the translation does not know is listed as
  // dropped, and still passes through to an Anthropic target as it came.
  thinking: z.looseObject({ type: z.string().min(1), budget_tokens: z.number().int().optional() }).optional(),
  output_config: z
    .looseObject({
      effort: z.string().nullish(),
      format: z
        .looseObject({ type: z.string().min(1), schema: z.record(z.string(), z.unknown()).optional() })
        .nullish(),
    })
    .optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** The messages as the gateway reads them: roles, and content a string or a list (its blocks unread). */
const messagesAsRead = messagesOf(z.unknown());
const plainMessage = (m: unknown) =>
  typeof m === "object" &&
  m !== null &&
  ROLES.includes((m as { role?: unknown }).role as (typeof ROLES)[number]) &&
  (typeof (m as { content?: unknown }).content === "string" ||
    Array.isArray((m as { content?: unknown }).content));

/**
 * What the gateway reads of every messages request, checked when it arrives: the request schema but for the
 * blocks of messages and system, which only the translation reads (`messageBlocksSchema` checks them when the
 * call is translated). A request passed through to an Anthropic target goes as it came, its blocks checked by
 * Anthropic: on a coding agent's 212 KB turn the request schema cost ~0.55 ms of workerd CPU. The messages are
 * checked by a plain loop and passed on as they came, zod only wording a failure (zod without its JIT, as on
 * workerd, took ~0.15 ms for the 355 messages of that turn).
 */
export const messagesEnvelopeSchema = messagesRequestSchema.extend({
  messages: z.custom<z.infer<typeof messagesAsRead>>().superRefine((value, ctx) => {
    if (!(Array.isArray(value) && value.length > 0 && value.every(plainMessage)))
      addIssues(ctx, messagesAsRead, value);
  }),
  system: z.union([z.string(), z.array(z.unknown())]).optional(),
});

export type MessagesEnvelope = z.infer<typeof messagesEnvelopeSchema>;

/**
 * The blocks of a request whose envelope has passed: with it, all the request schema checks (the top-level
 * fields are not checked twice).
 */
export const messageBlocksSchema = z.object({
  messages: messagesRequestSchema.shape.messages,
  system: messagesRequestSchema.shape.system,
});

/** Request fields the translation reads; any other (context_management, service_tier, …) is dropped. */
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
  "thinking",
  "output_config",
]);

/**
 * The fields of each block type the canonical form carries, by role; a block type not listed is dropped
 * whole (documents, thinking, server tool blocks), any other field of a listed block is named on its own.
 * Assistant content is plain text in the canonical form, so its blocks carry no `cache_control`.
 */
const CARRIED: Record<string, Record<string, string[]>> = {
  system: { text: ["text", "cache_control"] },
  user: {
    text: ["text", "cache_control"],
    image: ["source", "cache_control"],
    tool_result: ["tool_use_id", "content", "cache_control"],
  },
  assistant: { text: ["text"], tool_use: ["id", "name", "input", "caller"] },
};

/** Tool fields carried (`type` is `custom` or absent for the tools that translate). */
const TOOL_FIELDS = ["type", "name", "description", "input_schema", "cache_control", "strict"];

/** `output_config.effort` values, all of which OpenAI's `reasoning_effort` takes too. */
const EFFORTS = new Set(["low", "medium", "high", "xhigh", "max"]);

/** A value that says something (not absent, null, false or empty): only those are worth listing as dropped. */
const meaningful = (v: unknown) => v != null && v !== false && !(Array.isArray(v) && v.length === 0);

/** Lists the fields of `o` outside `carried` (and `type`) that hold a value, as `<path>.<field>`. */
function extras(o: Json, carried: readonly string[], path: string, dropped: Set<string>): void {
  for (const [k, v] of Object.entries(o)) {
    if (k !== "type" && !carried.includes(k) && meaningful(v)) dropped.add(`${path}.${k}`);
  }
}

const textOfBlocks = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? (content as Json[]).map((b) => (b.type === "text" ? String(b.text ?? "") : "")).join("")
      : "";

/** The block's `cache_control`, as a field to spread onto its canonical part or message. */
const marker = (b: Json): Json => (b.cache_control ? { cache_control: b.cache_control } : {});

/** An Anthropic text block → a canonical text part (its cache marker kept). */
const textPart = (b: Json): Json => ({ type: "text", text: b.text, ...marker(b) });

/** An Anthropic image block → an OpenAI `image_url` part. */
function imagePart(b: Json): Json | null {
  const src = (b.source ?? {}) as Json;
  const url =
    src.type === "base64" ? `data:${src.media_type};base64,${src.data}` : src.type === "url" ? src.url : null;
  return url === null ? null : { type: "image_url", image_url: { url }, ...marker(b) };
}

/**
 * The canonical `reasoning_effort` for Anthropic's `thinking` and `output_config.effort`: an explicit effort
 * as it is; else an `enabled` budget by size (< 4096 low, < 16384 medium, else high); `adaptive` alone leaves
 * the target its own default; `disabled` sends none (an effort given with it is dropped).
 */
function reasoningEffort(req: MessagesRequest, dropped: Set<string>): string | undefined {
  const thinking = req.thinking;
  const effort = req.output_config?.effort;
  if (thinking?.type === "disabled") {
    if (effort != null) dropped.add("output_config.effort");
    return undefined;
  }
  if (thinking && !["enabled", "adaptive", "between_tools"].includes(thinking.type)) dropped.add("thinking");
  if (effort != null) {
    if (EFFORTS.has(effort)) return effort;
    dropped.add("output_config.effort");
  }
  const budget = thinking?.type === "enabled" ? thinking.budget_tokens : undefined;
  if (budget === undefined) return undefined;
  return budget < 4096 ? "low" : budget < 16384 ? "medium" : "high";
}

/** The user turn's blocks → tool messages (one per `tool_result`, in order) and then one user message. */
function userMessages(blocks: Json[], i: number, dropped: Set<string>): Json[] {
  const out: Json[] = [];
  const parts: Json[] = [];
  blocks.forEach((b, j) => {
    if (b.type === "tool_result") {
      if (Array.isArray(b.content)) {
        (b.content as Json[]).forEach((c, k) => {
          if (c.type !== "text") dropped.add(`messages[${i}].content[${j}].content[${k}]`);
        });
      }
      out.push({ role: "tool", tool_call_id: b.tool_use_id, content: textOfBlocks(b.content), ...marker(b) });
    } else if (b.type === "text") parts.push(textPart(b));
    else if (b.type === "image") {
      const p = imagePart(b);
      if (p) parts.push(p);
      else dropped.add(`messages[${i}].content[${j}]`);
    }
  });
  if (parts.length > 0) out.push({ role: "user", content: parts });
  return out;
}

function assistantMessage(blocks: Json[]): Json {
  const toolCalls = blocks
    .filter((b) => b.type === "tool_use")
    .map((b) => ({
      id: b.id,
      type: "function",
      function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
    }));
  const text = textOfBlocks(blocks);
  return { role: "assistant", content: text || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
}

/** Anthropic tools → canonical function tools (cache marker and `strict` kept); server tools are dropped. */
function toolsOf(req: MessagesRequest, dropped: Set<string>): Json[] {
  const tools: Json[] = [];
  (req.tools ?? []).forEach((t, i) => {
    if (t.input_schema === undefined) {
      dropped.add(`tools[${i}]`);
      return;
    }
    extras(t, TOOL_FIELDS, `tools[${i}]`, dropped);
    const fn: Json = { name: t.name, parameters: t.input_schema };
    if (t.description) fn.description = t.description;
    if (t.strict === true) fn.strict = true;
    tools.push({ type: "function", function: fn, ...marker(t) });
  });
  return tools;
}

/**
 * An Anthropic Messages request → the canonical OpenAI chat request (always asking for stream usage), and the
 * request parts it could not carry, named as paths in the client's request (`context_management`,
 * `messages[1].content[0]`, `tools[3]`, `messages[2].content[0].is_error`).
 */
export function fromMessagesRequest(req: MessagesRequest): { body: Json; dropped: string[] } {
  const dropped = new Set(Object.keys(req).filter((k) => !REQUEST_FIELDS.has(k)));
  const messages: Json[] = [];
  if (typeof req.system === "string") messages.push({ role: "system", content: req.system });
  else if (req.system && req.system.length > 0) {
    const parts = req.system.map((b, j) => {
      extras(b, CARRIED.system?.text ?? [], `system[${j}]`, dropped);
      return textPart(b);
    });
    messages.push({ role: "system", content: parts });
  }
  req.messages.forEach((m, i) => {
    if (typeof m.content === "string") {
      const text = { type: "text", text: m.content };
      if (m.role === "user") messages.push({ role: "user", content: [text] });
      else if (m.role === "assistant") messages.push(assistantMessage([text]));
      else messages.push({ role: "system", content: m.content });
      return;
    }
    const carried = CARRIED[m.role] ?? {};
    m.content.forEach((b, j) => {
      const fields = carried[String(b.type)];
      if (fields) extras(b, fields, `messages[${i}].content[${j}]`, dropped);
      else dropped.add(`messages[${i}].content[${j}]`);
    });
    if (m.role === "system") {
      const parts = m.content.filter((b) => b.type === "text").map(textPart);
      messages.push({ role: "system", content: parts });
    } else if (m.role === "assistant") messages.push(assistantMessage(m.content));
    else messages.push(...userMessages(m.content, i, dropped));
  });
  const body: Json = { model: req.model, messages, max_tokens: req.max_tokens };
  if (req.stop_sequences) body.stop = req.stop_sequences;
  for (const k of ["temperature", "top_p", "top_k"] as const) if (req[k] !== undefined) body[k] = req[k];
  if (req.metadata) {
    if (req.metadata.user_id) body.user = req.metadata.user_id;
    extras(req.metadata, ["user_id"], "metadata", dropped);
  }
  const tools = toolsOf(req, dropped);
  if (tools.length > 0) body.tools = tools;
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
  const config = req.output_config;
  if (config) {
    extras(config, ["effort", "format"], "output_config", dropped);
    const format = config.format;
    if (format?.type === "json_schema" && format.schema) {
      // Anthropic's format has no name; OpenAI's requires one (the Vercel AI SDK's default name too).
      body.response_format = {
        type: "json_schema",
        json_schema: { name: "response", schema: format.schema, strict: true },
      };
    } else if (format) dropped.add("output_config.format");
  }
  const effort = reasoningEffort(req, dropped);
  if (effort) body.reasoning_effort = effort;
  if (req.stream === true) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return { body, dropped: [...dropped] };
}
