import type { ProviderConfig } from "../config/schema";
import {
  type Completion,
  type FinishReason,
  type StreamTranslator,
  translateSse,
  wireUsageFromUncached,
} from "../formats/chunks";
import { replaceTopLevelString } from "../formats/json-text";
import { nativeAdapter } from "./native";
import { errorBody, parseArguments, parseDataUrl, textOf } from "./translate";
import type { ProviderAdapter, UpstreamCall, UpstreamErrorInfo } from "./types";

type Config = Extract<ProviderConfig, { type: "anthropic" }>;
type Json = Record<string, unknown>;
type Block = Json & { type: string };
type Turn = { role: "user" | "assistant" | "system"; content: Block[] | string };

/** Canonical fields the translation reads; any other field present is dropped and listed. */
const READ = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "user",
  "reasoning_effort",
]);
/** Sampling parameters: API 2023-06-01 takes them; 2026-10-21 removed them. */
const SAMPLING = ["temperature", "top_p", "top_k"] as const;

/** Anthropic stop reasons → canonical finish reasons (SDK 1.12's `StopReason`). */
export const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

const EFFORT: Record<string, string> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
};

/** An OpenAI content part → an Anthropic content block; null for parts Anthropic has no block for. */
function block(part: Json): Block | null {
  if (part.type === "text") return { type: "text", text: String(part.text ?? "") };
  if (part.type === "image_url") {
    const url = String((part.image_url as Json | undefined)?.url ?? "");
    const data = parseDataUrl(url);
    if (data)
      return { type: "image", source: { type: "base64", media_type: data.mimeType, data: data.data } };
    if (/^https?:\/\//.test(url)) return { type: "image", source: { type: "url", url } };
  }
  return null;
}

/**
 * Canonical messages → Anthropic turns. System/developer messages go to the top-level `system` (API
 * 2023-06-01) or stay in place as `system`-role entries (2026-10-21, which accepts them); tool results become
 * `tool_result` blocks in a user turn; consecutive turns of one role are merged.
 */
export function toAnthropicMessages(
  messages: Json[],
  systemInPlace: boolean,
  dropped: Set<string>,
): { system: string | undefined; messages: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn["role"], blocks: Block[]) => {
    const last = turns[turns.length - 1];
    if (role !== "system" && last?.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  messages.forEach((m, i) => {
    const role = String(m.role);
    if (role === "system" || role === "developer") {
      if (systemInPlace) turns.push({ role: "system", content: textOf(m.content) });
      else system.push(textOf(m.content));
      return;
    }
    if (role === "tool" || role === "function") {
      const id = String(m.tool_call_id ?? m.name ?? "");
      push("user", [{ type: "tool_result", tool_use_id: id, content: textOf(m.content) }]);
      return;
    }
    const blocks: Block[] = [];
    if (typeof m.content === "string") {
      if (m.content) blocks.push({ type: "text", text: m.content });
    } else if (Array.isArray(m.content)) {
      for (const part of m.content as Json[]) {
        const b = block(part);
        if (b) blocks.push(b);
        else dropped.add(`messages[${i}].content`);
      }
    }
    if (role === "assistant" && Array.isArray(m.tool_calls)) {
      (m.tool_calls as Json[]).forEach((t, j) => {
        const fn = (t.function ?? {}) as Json;
        const input = parseArguments(
          String(fn.arguments ?? ""),
          `messages[${i}].tool_calls[${j}].function.arguments`,
        );
        blocks.push({ type: "tool_use", id: String(t.id), name: String(fn.name), input });
      });
    }
    if (blocks.length > 0) push(role === "assistant" ? "assistant" : "user", blocks);
  });
  return { system: system.length > 0 ? system.join("\n\n") : undefined, messages: turns };
}

/** OpenAI `tool_choice` (+ `parallel_tool_calls`) → Anthropic `tool_choice`; undefined when there is nothing to say. */
function toolChoice(choice: unknown, parallel: unknown): Json | undefined {
  let out: Json | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "required") out = { type: "any" };
  else if (choice === "none") out = { type: "none" };
  else if (typeof choice === "object" && choice !== null) {
    out = { type: "tool", name: String(((choice as Json).function as Json | undefined)?.name ?? "") };
  }
  if (parallel === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

/** The canonical request → an Anthropic Messages request body, and the canonical fields it could not carry. */
export function toAnthropicRequest(call: UpstreamCall, p: Config): { body: Json; dropped: string[] } {
  const b = call.body;
  const dropped = new Set(
    Object.keys(b).filter((k) => !READ.has(k) && !(SAMPLING as readonly string[]).includes(k)),
  );
  const inPlace = p.apiVersion === "2026-10-21";
  const { system, messages } = toAnthropicMessages(b.messages as Json[], inPlace, dropped);
  const body: Json = {
    model: call.target.model,
    max_tokens: Number(b.max_completion_tokens ?? b.max_tokens ?? p.defaultMaxTokens),
    messages,
  };
  if (system !== undefined) body.system = system;
  for (const k of SAMPLING) {
    if (b[k] === undefined || b[k] === null) continue;
    if (inPlace) dropped.add(k);
    else body[k] = b[k];
  }
  if (b.stop != null) body.stop_sequences = Array.isArray(b.stop) ? b.stop : [b.stop];
  const tools = ((b.tools as Json[] | null | undefined) ?? []).filter((t) => t.type === "function");
  if (tools.length < ((b.tools as unknown[] | null | undefined)?.length ?? 0)) dropped.add("tools");
  if (tools.length > 0) {
    body.tools = tools.map((t) => {
      const fn = t.function as Json;
      return {
        name: fn.name,
        ...(fn.description ? { description: fn.description } : {}),
        input_schema: fn.parameters ?? { type: "object", properties: {} },
      };
    });
  }
  const choice = toolChoice(b.tool_choice, b.parallel_tool_calls);
  if (choice && tools.length > 0) body.tool_choice = choice;
  if (typeof b.user === "string") body.metadata = { user_id: b.user };
  if (typeof b.reasoning_effort === "string") {
    const effort = EFFORT[b.reasoning_effort];
    if (effort) body.output_config = { effort };
    else dropped.add("reasoning_effort");
  }
  if (call.stream) body.stream = true;
  return { body, dropped: [...dropped] };
}

/** Anthropic usage → canonical usage (Anthropic's input_tokens excludes cache reads and writes). */
export function usageOf(u: Json | undefined) {
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  return wireUsageFromUncached({
    uncachedInput: n(u?.input_tokens),
    cacheRead: n(u?.cache_read_input_tokens),
    cacheWrite: n(u?.cache_creation_input_tokens),
    cacheWrite1h: n((u?.cache_creation as Json | null | undefined)?.ephemeral_1h_input_tokens),
    output: n(u?.output_tokens),
    reasoning: n((u?.output_tokens_details as Json | null | undefined)?.thinking_tokens),
  });
}

/** An Anthropic message → the canonical completion. */
export function fromAnthropicMessage(json: unknown): Completion {
  const m = json as Json;
  if (!Array.isArray(m.content)) throw new TypeError("An Anthropic message has a content array.");
  let text = "";
  let reasoning = "";
  const toolCalls: Completion["toolCalls"] = [];
  for (const b of (m.content as Json[] | undefined) ?? []) {
    if (b.type === "text") text += String(b.text ?? "");
    else if (b.type === "thinking") reasoning += String(b.thinking ?? "");
    else if (b.type === "tool_use") {
      toolCalls.push({ id: String(b.id), name: String(b.name), arguments: JSON.stringify(b.input ?? {}) });
    }
  }
  return {
    id: String(m.id),
    model: String(m.model),
    content: text || (toolCalls.length > 0 ? null : ""),
    toolCalls,
    finishReason: STOP_REASONS[String(m.stop_reason)] ?? "stop",
    usage: usageOf(m.usage as Json | undefined),
    reasoning: reasoning || undefined,
  };
}

/** Anthropic stream events → canonical chunks; tool calls are numbered in order of their tool_use blocks. */
export function anthropicStream(): StreamTranslator {
  const toolIndex = new Map<number, number>();
  let usage: Json = {};
  let stop: string | undefined;
  return {
    event(e, w) {
      let d: Json;
      try {
        d = JSON.parse(e.data) as Json;
      } catch {
        return;
      }
      switch (d.type) {
        case "message_start": {
          const m = (d.message ?? {}) as Json;
          if (typeof m.id === "string") w.id = m.id;
          if (typeof m.model === "string") w.model = m.model;
          usage = { ...((m.usage as Json | undefined) ?? {}) };
          w.role();
          break;
        }
        case "content_block_start": {
          const b = (d.content_block ?? {}) as Json;
          if (b.type === "tool_use") {
            const i = toolIndex.size;
            toolIndex.set(Number(d.index), i);
            w.toolStart(i, String(b.id), String(b.name));
          } else if (b.type === "text" && typeof b.text === "string") w.text(b.text);
          break;
        }
        case "content_block_delta": {
          const delta = (d.delta ?? {}) as Json;
          if (delta.type === "text_delta") w.text(String(delta.text ?? ""));
          else if (delta.type === "thinking_delta") w.reasoning(String(delta.thinking ?? ""));
          else if (delta.type === "input_json_delta") {
            const i = toolIndex.get(Number(d.index));
            if (i !== undefined) w.toolArgs(i, String(delta.partial_json ?? ""));
          }
          break;
        }
        case "message_delta":
          stop = ((d.delta as Json | undefined)?.stop_reason as string | undefined) ?? stop;
          usage = { ...usage, ...((d.usage as Json | undefined) ?? {}) };
          break;
        case "message_stop":
          w.finish(STOP_REASONS[stop ?? ""] ?? "stop");
          w.usage(usageOf(usage));
          break;
        case "error": {
          const err = (d.error ?? {}) as Json;
          w.error(String(err.message ?? "Upstream stream error"), String(err.type ?? "upstream_error"));
          break;
        }
      }
    },
    end() {},
  };
}

/** Reads Anthropic's `{"type":"error","error":{"type","message"}}`. */
export async function readAnthropicError(res: Response): Promise<UpstreamErrorInfo> {
  const { json, fallback } = await errorBody(res);
  const err = ((json as Json | undefined)?.error ?? {}) as Json;
  if (typeof err.message !== "string") return { message: fallback };
  const type = typeof err.type === "string" ? err.type : undefined;
  return { message: err.message, type, code: type };
}

/** Client headers a passthrough forwards to Anthropic: the API version and the betas it asks for. */
export const FORWARDED_HEADERS = ["anthropic-version", "anthropic-beta"] as const;

/** The Messages API base URL of a provider: `baseUrl` with or without its `/v1` (both are common). */
export function messagesBase(p: { baseUrl?: string | undefined }): string {
  return (p.baseUrl ?? "https://api.anthropic.com").replace(/\/+$/, "").replace(/\/v1$/, "");
}

/** Authentication as an API version expects it (2026-10-21: `Authorization: Bearer`; 2023-06-01: `x-api-key`). */
function authFor(apiKey: string | undefined, version: string): Record<string, string> {
  if (!apiKey) return {};
  return version === "2026-10-21" ? { authorization: `Bearer ${apiKey}` } : { "x-api-key": apiKey };
}

/** Anthropic's 529 (overloaded) as a 503, so it is retried and failed over like other overload answers. */
async function send(req: Request): Promise<Response> {
  const res = await fetch(req);
  return res.status === 529 ? new Response(res.body, { status: 503, headers: res.headers }) : res;
}

/**
 * The `anthropic` provider: the Messages API, translated both ways — or, for a `/v1/messages` client, passed
 * through: the client's body with only the model replaced, its `anthropic-version` and `anthropic-beta`, and its
 * query string (`?beta=true`); the answer comes back untranslated. The client's own credentials never travel.
 */
export function anthropicAdapter(p: Config): ProviderAdapter {
  const base = messagesBase(p);
  const adapter = nativeAdapter({
    strict: p.strict,
    request(call) {
      const { body, dropped } = toAnthropicRequest(call, p);
      const headers = {
        "content-type": "application/json",
        "anthropic-version": p.apiVersion,
        ...authFor(p.apiKey, p.apiVersion),
        ...(p.headers ?? {}),
      };
      return { url: `${base}/v1/messages`, headers, body: JSON.stringify(body), dropped };
    },
    completion: (json) => fromAnthropicMessage(json),
    stream: (body, call) => translateSse(body, anthropicStream(), "msg", call.target.model),
    readError: readAnthropicError,
    fetch: send,
  });
  return {
    ...adapter,
    speaks: "anthropic",
    passthrough(call, req) {
      const version = req.headers.get("anthropic-version") ?? p.apiVersion;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "anthropic-version": version,
      };
      const beta = req.headers.get("anthropic-beta");
      if (beta) headers["anthropic-beta"] = beta;
      Object.assign(headers, authFor(p.apiKey, version), p.headers ?? {});
      return send(
        new Request(`${base}${req.path}${req.query}`, {
          method: "POST",
          headers,
          body: replaceTopLevelString(req.body, "model", call.target.model),
          signal: call.signal,
        }),
      );
    },
  };
}
