import { AwsV4Signer } from "aws4fetch";
import type { ProviderConfig } from "../config/schema";
import {
  type ChunkWriter,
  type Completion,
  type FinishReason,
  translateBytes,
  wireUsageFromUncached,
} from "../formats/chunks";
import { EventStreamDecoder } from "../formats/event-stream";
import { nativeAdapter } from "./native";
import { CACHE_CONTROL, errorBody, parseArguments, parseDataUrl, textOf } from "./translate";
import type { ProviderAdapter, UpstreamCall, UpstreamErrorInfo } from "./types";

type Config = Extract<ProviderConfig, { type: "bedrock" }>;
type Json = Record<string, unknown>;
type Turn = { role: "user" | "assistant"; content: Json[] };

const READ = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "tools",
  "tool_choice",
]);

/** Converse stop reasons → canonical finish reasons. */
export const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

const IMAGE_FORMATS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

/** The most cache checkpoints Converse takes in one request (system, messages and tools together). */
const MAX_CACHE_POINTS = 4;

/**
 * Where a model takes cache checkpoints: Claude models everywhere, Nova models in system and messages, others
 * nowhere (Bedrock refuses the request: "You invoked an unsupported model or your request did not allow
 * prompt caching"). An ARN (an application inference profile) does not say its model: it is given them.
 */
export function cachePointsFor(model: string): { messages: boolean; tools: boolean } {
  const claude = /claude/i.test(model) || model.startsWith("arn:");
  return { messages: claude || /nova/i.test(model), tools: claude };
}

/**
 * Turns canonical cache markers into Converse `cachePoint` blocks, in request order, up to the maximum; the
 * markers past it, or where the model takes none, are listed as dropped.
 */
export class CachePoints {
  private count = 0;
  constructor(
    private readonly dropped: Set<string>,
    private readonly where = { messages: true, tools: true },
  ) {}

  /** Appends a cachePoint to `list` when `o` carries a marker (`path` names it if it cannot be placed). */
  after(list: Json[], o: unknown, path: string): void {
    const marker = typeof o === "object" && o !== null ? (o as Json)[CACHE_CONTROL] : undefined;
    if (marker == null) return;
    const allowed = path.startsWith("tools") ? this.where.tools : this.where.messages;
    if (!allowed || this.count >= MAX_CACHE_POINTS) {
      this.dropped.add(`${path}.${CACHE_CONTROL}`);
      return;
    }
    this.count++;
    const ttl = (marker as Json).ttl;
    list.push({ cachePoint: { type: "default", ...(ttl === "5m" || ttl === "1h" ? { ttl } : {}) } });
  }
}

/** A system message → Converse system blocks: one `{text}` per text part, each cache marker a cachePoint. */
function systemBlocks(m: Json, i: number, cache: CachePoints): Json[] {
  const out: Json[] = [];
  if (Array.isArray(m.content)) {
    (m.content as Json[]).forEach((p, j) => {
      if (p.type !== "text") return;
      out.push({ text: String(p.text ?? "") });
      cache.after(out, p, `messages[${i}].content[${j}]`);
    });
  } else out.push({ text: textOf(m.content) });
  cache.after(out, m, `messages[${i}]`);
  return out;
}

/**
 * Canonical messages → Converse `system` and `messages` (tool results in user turns, same-role turns merged).
 * System parts stay separate system blocks; a cache marker on a part, a system block or a tool message is
 * followed by a `cachePoint` in the same list.
 */
export function toConverseMessages(
  messages: Json[],
  dropped: Set<string>,
  cache: CachePoints = new CachePoints(dropped),
): { system: Json[]; messages: Turn[] } {
  const system: Json[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn["role"], content: Json[]) => {
    if (content.length === 0) return;
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };
  messages.forEach((m, i) => {
    if (m.role === "system" || m.role === "developer") {
      system.push(...systemBlocks(m, i, cache));
      return;
    }
    if (m.role === "tool" || m.role === "function") {
      const toolResult = { toolUseId: String(m.tool_call_id ?? ""), content: [{ text: textOf(m.content) }] };
      const content: Json[] = [{ toolResult }];
      cache.after(content, m, `messages[${i}]`);
      push("user", content);
      return;
    }
    const content: Json[] = [];
    if (typeof m.content === "string") {
      if (m.content) content.push({ text: m.content });
    } else if (Array.isArray(m.content)) {
      (m.content as Json[]).forEach((part, j) => {
        const image = part.type === "image_url" ? parseDataUrl(String((part.image_url as Json).url)) : null;
        if (part.type === "text") content.push({ text: part.text });
        else if (image && IMAGE_FORMATS[image.mimeType]) {
          content.push({ image: { format: IMAGE_FORMATS[image.mimeType], source: { bytes: image.data } } });
        } else {
          dropped.add(`messages[${i}].content`);
          return;
        }
        cache.after(content, part, `messages[${i}].content[${j}]`);
      });
    }
    if (m.role === "assistant" && Array.isArray(m.tool_calls)) {
      (m.tool_calls as Json[]).forEach((t, j) => {
        const fn = (t.function ?? {}) as Json;
        const input = parseArguments(
          String(fn.arguments ?? ""),
          `messages[${i}].tool_calls[${j}].function.arguments`,
        );
        content.push({ toolUse: { toolUseId: String(t.id), name: String(fn.name), input } });
      });
    }
    // A marker on a message with string content (a client's own extension) still marks its end.
    if (content.length > 0) cache.after(content, m, `messages[${i}]`);
    push(m.role === "assistant" ? "assistant" : "user", content);
  });
  return { system, messages: turns };
}

/** The canonical request → a Converse request body, and the canonical fields it could not carry. */
export function toConverseRequest(body: Json, model: string): { body: Json; dropped: string[] } {
  const dropped = new Set(Object.keys(body).filter((k) => !READ.has(k)));
  // Cache points count in prompt order (tools, system, messages), so the first four markers are kept.
  const cache = new CachePoints(dropped, cachePointsFor(model));
  const tools: Json[] = [];
  ((body.tools as Json[] | null | undefined) ?? []).forEach((t, i) => {
    if (t.type !== "function") return;
    const fn = t.function as Json;
    tools.push({
      toolSpec: {
        name: fn.name,
        ...(fn.description ? { description: fn.description } : {}),
        inputSchema: { json: fn.parameters ?? { type: "object", properties: {} } },
      },
    });
    cache.after(tools, t, `tools[${i}]`);
  });
  const { system, messages } = toConverseMessages(body.messages as Json[], dropped, cache);
  const out: Json = { messages };
  if (system.length > 0) out.system = system;
  const inference: Json = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max != null) inference.maxTokens = max;
  if (body.temperature != null) inference.temperature = body.temperature;
  if (body.top_p != null) inference.topP = body.top_p;
  if (body.stop != null) inference.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  if (tools.length > 0) {
    const toolConfig: Json = { tools };
    const choice = body.tool_choice;
    if (choice === "required") toolConfig.toolChoice = { any: {} };
    else if (choice === "auto") toolConfig.toolChoice = { auto: {} };
    else if (typeof choice === "object" && choice !== null) {
      toolConfig.toolChoice = { tool: { name: ((choice as Json).function as Json).name } };
    } else if (choice === "none") dropped.add("tool_choice");
    out.toolConfig = toolConfig;
  }
  return { body: out, dropped: [...dropped] };
}

/** Converse usage → canonical usage (inputTokens excludes cache reads and writes). */
function usageOf(u: Json | undefined) {
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  return wireUsageFromUncached({
    uncachedInput: n(u?.inputTokens),
    cacheRead: n(u?.cacheReadInputTokens),
    cacheWrite: n(u?.cacheWriteInputTokens),
    output: n(u?.outputTokens),
  });
}

/** A Converse response → the canonical completion. */
export function fromConverse(json: unknown, model: string): Completion {
  const r = json as Json;
  if (!Array.isArray(((r.output as Json | undefined)?.message as Json | undefined)?.content)) {
    throw new TypeError("A Converse answer has output.message.content.");
  }
  const content = ((((r.output as Json | undefined)?.message as Json | undefined)?.content as Json[]) ??
    []) as Json[];
  let text = "";
  let reasoning = "";
  const toolCalls: Completion["toolCalls"] = [];
  for (const b of content) {
    if (typeof b.text === "string") text += b.text;
    const thought = ((b.reasoningContent as Json | undefined)?.reasoningText as Json | undefined)?.text;
    if (typeof thought === "string") reasoning += thought;
    const use = b.toolUse as Json | undefined;
    if (use)
      toolCalls.push({
        id: String(use.toolUseId),
        name: String(use.name),
        arguments: JSON.stringify(use.input ?? {}),
      });
  }
  return {
    id: `chatcmpl-${crypto.randomUUID()}`,
    model,
    content: text || (toolCalls.length > 0 ? null : ""),
    toolCalls,
    finishReason: STOP_REASONS[String(r.stopReason)] ?? "stop",
    usage: usageOf(r.usage as Json | undefined),
    reasoning: reasoning || undefined,
  };
}

/** ConverseStream events (binary event-stream) → canonical chunks. */
export function converseStreamDecoder(w: ChunkWriter): { push(bytes: Uint8Array): void; end(): void } {
  const toolIndex = new Map<number, number>();
  let stop: string | undefined;
  const dec = new TextDecoder();
  const decoder = new EventStreamDecoder((m) => {
    const payload = JSON.parse(dec.decode(m.payload) || "{}") as Json;
    if (m.headers[":message-type"] === "exception") {
      w.error(
        String(payload.message ?? "Bedrock stream error"),
        String(m.headers[":exception-type"] ?? "upstream_error"),
      );
      return;
    }
    switch (m.headers[":event-type"]) {
      case "messageStart":
        w.role();
        break;
      case "contentBlockStart": {
        const use = (payload.start as Json | undefined)?.toolUse as Json | undefined;
        if (use) {
          const i = toolIndex.size;
          toolIndex.set(Number(payload.contentBlockIndex), i);
          w.toolStart(i, String(use.toolUseId), String(use.name));
        }
        break;
      }
      case "contentBlockDelta": {
        const d = (payload.delta ?? {}) as Json;
        if (typeof d.text === "string") w.text(d.text);
        const thought = (d.reasoningContent as Json | undefined)?.text;
        if (typeof thought === "string") w.reasoning(thought);
        const input = (d.toolUse as Json | undefined)?.input;
        const i = toolIndex.get(Number(payload.contentBlockIndex));
        if (typeof input === "string" && i !== undefined) w.toolArgs(i, input);
        break;
      }
      case "messageStop":
        stop = String(payload.stopReason);
        w.finish(STOP_REASONS[stop] ?? "stop");
        break;
      case "metadata":
        w.usage(usageOf(payload.usage as Json | undefined));
        break;
    }
  });
  return { push: (b) => decoder.push(b), end: () => decoder.end() };
}

/** Bedrock errors: `{"message"}` with the kind in `x-amzn-ErrorType` (`ValidationException:…`). */
export async function readBedrockError(res: Response): Promise<UpstreamErrorInfo> {
  const kind = (res.headers.get("x-amzn-errortype") ?? "").split(":")[0] || undefined;
  const { json, fallback } = await errorBody(res);
  const j = (json ?? {}) as Json;
  return { message: String(j.message ?? j.Message ?? fallback), type: kind, code: kind };
}

/**
 * The `bedrock` provider: Converse and ConverseStream, signed with SigV4 (aws4fetch) for service `bedrock`
 * in the configured region.
 */
export function bedrockAdapter(p: Config): ProviderAdapter {
  const base = (p.baseUrl ?? `https://bedrock-runtime.${p.region}.amazonaws.com`).replace(/\/+$/, "");
  return nativeAdapter({
    strict: p.strict,
    async request(call: UpstreamCall) {
      const { body, dropped } = toConverseRequest(call.body, call.target.model);
      const url = `${base}/model/${encodeURIComponent(call.target.model)}/${call.stream ? "converse-stream" : "converse"}`;
      const payload = JSON.stringify(body);
      const signed = await new AwsV4Signer({
        method: "POST",
        url,
        headers: { "content-type": "application/json", ...(p.headers ?? {}) },
        body: payload,
        accessKeyId: p.accessKeyId,
        secretAccessKey: p.secretAccessKey,
        sessionToken: p.sessionToken,
        service: "bedrock",
        region: p.region,
      }).sign();
      return { url, headers: Object.fromEntries(signed.headers), body: payload, dropped };
    },
    completion: (json, call) => fromConverse(json, call.target.model),
    stream: (body, call) =>
      translateBytes(body, `chatcmpl-${crypto.randomUUID()}`, call.target.model, converseStreamDecoder),
    readError: readBedrockError,
  });
}
