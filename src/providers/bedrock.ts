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
import { errorBody, parseArguments, parseDataUrl, textOf } from "./translate";
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

/** Canonical messages → Converse `system` and `messages` (tool results in user turns, same-role turns merged). */
export function toConverseMessages(
  messages: Json[],
  dropped: Set<string>,
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
      system.push({ text: textOf(m.content) });
      return;
    }
    if (m.role === "tool" || m.role === "function") {
      const toolResult = { toolUseId: String(m.tool_call_id ?? ""), content: [{ text: textOf(m.content) }] };
      push("user", [{ toolResult }]);
      return;
    }
    const content: Json[] = [];
    if (typeof m.content === "string") {
      if (m.content) content.push({ text: m.content });
    } else if (Array.isArray(m.content)) {
      for (const part of m.content as Json[]) {
        const image = part.type === "image_url" ? parseDataUrl(String((part.image_url as Json).url)) : null;
        if (part.type === "text") content.push({ text: part.text });
        else if (image && IMAGE_FORMATS[image.mimeType]) {
          content.push({ image: { format: IMAGE_FORMATS[image.mimeType], source: { bytes: image.data } } });
        } else dropped.add(`messages[${i}].content`);
      }
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
    push(m.role === "assistant" ? "assistant" : "user", content);
  });
  return { system, messages: turns };
}

/** The canonical request → a Converse request body, and the canonical fields it could not carry. */
export function toConverseRequest(body: Json): { body: Json; dropped: string[] } {
  const dropped = new Set(Object.keys(body).filter((k) => !READ.has(k)));
  const { system, messages } = toConverseMessages(body.messages as Json[], dropped);
  const out: Json = { messages };
  if (system.length > 0) out.system = system;
  const inference: Json = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max != null) inference.maxTokens = max;
  if (body.temperature != null) inference.temperature = body.temperature;
  if (body.top_p != null) inference.topP = body.top_p;
  if (body.stop != null) inference.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  const tools = ((body.tools as Json[] | null | undefined) ?? []).filter((t) => t.type === "function");
  if (tools.length > 0) {
    const toolConfig: Json = {
      tools: tools.map((t) => {
        const fn = t.function as Json;
        return {
          toolSpec: {
            name: fn.name,
            ...(fn.description ? { description: fn.description } : {}),
            inputSchema: { json: fn.parameters ?? { type: "object", properties: {} } },
          },
        };
      }),
    };
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
      const { body, dropped } = toConverseRequest(call.body);
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
