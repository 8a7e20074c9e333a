import { ChunkWriter, type FinishReason, type WireUsage } from "../formats/chunks";

/** One cached answer (the KV value): the canonical answer and what it cost when it was made. */
export interface CacheEntry {
  v: 1;
  /** The canonical `chat.completion` JSON text, usage included. */
  answer: string;
  /** Its cost when served upstream, in pico-USD (what a hit saves); null when unpriced. */
  costPicoUsd: number | null;
  provider: string;
  model: string;
  createdAt: number;
  /** When it stops being served (ms), whatever the store still holds. */
  expiresAt: number;
  /** Adaptive thresholds: the similarity a semantic match needs to use this entry, raised by failed checks. */
  threshold?: number;
  /** The last user turn as asked, for the semantic tier's lexical check (semantic entries only; in the value, never a key). */
  question?: string;
}

type Json = Record<string, unknown>;

/** An entry read back, or null when the value is not one (written by another version, or damaged). */
export function parseEntry(text: string | null): CacheEntry | null {
  if (text === null) return null;
  try {
    const e = JSON.parse(text) as Partial<CacheEntry>;
    if (e.v !== 1 || typeof e.answer !== "string" || typeof e.createdAt !== "number") return null;
    if (typeof e.expiresAt !== "number") return null;
    return e as CacheEntry;
  } catch {
    return null;
  }
}

interface Choice {
  message?: { content?: unknown; reasoning_content?: unknown; tool_calls?: unknown };
  finish_reason?: unknown;
}

/** What may be cached of an answer: nothing when any choice was cut (length, filter) or it is no answer at all. */
export function cacheability(answer: Json): "none" | "text" | "tools" {
  const choices = answer.choices;
  if (!Array.isArray(choices) || choices.length === 0) return "none";
  let tools = false;
  for (const c of choices as Choice[]) {
    if (c.finish_reason !== "stop" && c.finish_reason !== "tool_calls") return "none";
    if (Array.isArray(c.message?.tool_calls) && c.message.tool_calls.length > 0) tools = true;
  }
  return tools ? "tools" : "text";
}

interface ToolCallJson {
  id?: string;
  function?: { name?: string; arguments?: string };
}

/**
 * A cached `chat.completion` as the canonical stream an upstream would have sent: a role chunk, the text (and
 * reasoning, and tool calls), the finish, the usage-only chunk and `[DONE]` — then written in the client's
 * format like any upstream stream. Only the first choice streams (the cache serves `n` = 1 streams).
 */
export function replayStream(answerText: string): ReadableStream<Uint8Array> {
  const answer = JSON.parse(answerText) as Json;
  const choice = ((answer.choices as Choice[] | undefined) ?? [])[0] ?? {};
  const message = choice.message ?? {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const w = new ChunkWriter(
        (bytes) => controller.enqueue(bytes),
        String(answer.id ?? "chatcmpl-cache"),
        String(answer.model ?? ""),
      );
      w.role();
      if (typeof message.reasoning_content === "string") w.reasoning(message.reasoning_content);
      if (typeof message.content === "string") w.text(message.content);
      const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as ToolCallJson[]) : [];
      calls.forEach((t, i) => {
        w.toolStart(i, String(t.id ?? `call_${i}`), String(t.function?.name ?? ""));
        w.toolArgs(i, String(t.function?.arguments ?? ""));
      });
      w.finish((choice.finish_reason as FinishReason | undefined) ?? "stop");
      if (answer.usage) w.usage(answer.usage as WireUsage);
      w.done();
      controller.close();
    },
  });
}

interface ChunkChoice {
  index?: number;
  delta?: {
    content?: string | null;
    reasoning_content?: string | null;
    tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
  };
  finish_reason?: string | null;
}

/**
 * Builds the whole `chat.completion` of a canonical stream from its events' data, fed one at a time (the
 * cache fills from streamed answers with it). `result()` is null until a finish reason arrived.
 */
export class StreamAssembler {
  private id = "";
  private model = "";
  private created = 0;
  private usage: unknown = null;
  private readonly choices = new Map<
    number,
    { content: string; reasoning: string; finish: string | null; tools: Map<number, ToolCallJson> }
  >();

  push(data: string): void {
    if (data === "[DONE]") return;
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch {
      return;
    }
    if (typeof chunk.id === "string") this.id = chunk.id;
    if (typeof chunk.model === "string") this.model = chunk.model;
    if (typeof chunk.created === "number") this.created = chunk.created;
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of (chunk.choices as ChunkChoice[] | undefined) ?? []) {
      const index = c.index ?? 0;
      let acc = this.choices.get(index);
      if (!acc) {
        acc = { content: "", reasoning: "", finish: null, tools: new Map() };
        this.choices.set(index, acc);
      }
      if (typeof c.delta?.content === "string") acc.content += c.delta.content;
      if (typeof c.delta?.reasoning_content === "string") acc.reasoning += c.delta.reasoning_content;
      for (const t of c.delta?.tool_calls ?? []) {
        const i = t.index ?? 0;
        const tool = acc.tools.get(i) ?? { function: { name: "", arguments: "" } };
        if (t.id) tool.id = t.id;
        if (t.function?.name) (tool.function as { name: string }).name += t.function.name;
        if (t.function?.arguments) (tool.function as { arguments: string }).arguments += t.function.arguments;
        acc.tools.set(i, tool);
      }
      if (c.finish_reason) acc.finish = c.finish_reason;
    }
  }

  /** The assembled answer, or null when the stream carried no finished choice. */
  result(): Json | null {
    if (this.choices.size === 0 || [...this.choices.values()].some((c) => c.finish === null)) return null;
    const choices = [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => {
        const message: Json = { role: "assistant", content: c.content || null };
        if (c.reasoning) message.reasoning_content = c.reasoning;
        if (c.tools.size > 0) {
          message.tool_calls = [...c.tools.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, t]) => ({ id: t.id, type: "function", function: t.function }));
        }
        return { index, message, finish_reason: c.finish, logprobs: null };
      });
    return {
      id: this.id,
      object: "chat.completion",
      created: this.created,
      model: this.model,
      choices,
      ...(this.usage ? { usage: this.usage } : {}),
    };
  }
}
