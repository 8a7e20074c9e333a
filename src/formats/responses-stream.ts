import { type FinishReason, rewriteCanonical, type WireUsage } from "./chunks";
import type { ResponsesEcho } from "./responses";
import { responseName } from "./responses-tools";

/**
 * Canonical answers written in OpenAI's Responses API (openai 7.57's `Response` and `ResponseStreamEvent`):
 * a `chat.completion` → a Response object; a `chat.completion.chunk` stream → the Responses event stream
 * (response.created, response.in_progress, per output item added / content / done, then response.completed,
 * response.incomplete or response.failed), numbered by `sequence_number`.
 */

type Json = Record<string, unknown>;
type Status = "completed" | "incomplete" | "failed" | "in_progress";

/** `resp_…` (and input items' `msg_…`): a prefix and 24 random bytes in hex, as the API's ids look. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${prefix}_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * An output item's id (`msg_…`, `fc_…`, `rs_…`): its response's random part and its index, so that an
 * `item_reference` finds the stored response holding it without an index of items (responseOfItem).
 */
export const itemId = (prefix: string, responseId: string, index: number): string =>
  `${prefix}_${responseId.slice("resp_".length)}${index.toString(16).padStart(4, "0")}`;

const ITEM_ID = /^[a-z]+_([0-9a-f]{48})[0-9a-f]{4}$/;

/** The id of the response whose output item `id` is (null for an id Sluice did not make). */
export function responseOfItem(id: string): string | null {
  const m = ITEM_ID.exec(id);
  return m ? `resp_${m[1]}` : null;
}

/** Canonical usage → `ResponseUsage` (input includes cached and cache-write tokens, as prompt_tokens does). */
export function toResponsesUsage(u: WireUsage): Json {
  return {
    input_tokens: u.prompt_tokens ?? 0,
    input_tokens_details: {
      cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: u.prompt_tokens_details?.cache_creation_tokens ?? 0,
    },
    output_tokens: u.completion_tokens ?? 0,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u.total_tokens ?? (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0),
  };
}

/** Why a finished answer is incomplete: a length cut or a content filter; null when it is complete. */
const INCOMPLETE: Partial<Record<FinishReason, string>> = {
  length: "max_output_tokens",
  content_filter: "content_filter",
};

export interface ResponseState {
  id: string;
  createdAt: number;
  model: string;
  status: Status;
  output: Json[];
  usage: WireUsage | null;
  error?: Json | null;
  finish?: FinishReason | null;
}

/** A whole Response object: its state and the request fields it echoes. */
export function responseBody(echo: ResponsesEcho, s: ResponseState): Json {
  const reason = s.status === "incomplete" && s.finish ? (INCOMPLETE[s.finish] ?? null) : null;
  return {
    id: s.id,
    object: "response",
    created_at: s.createdAt,
    status: s.status,
    ...(s.status === "completed" ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
    background: false,
    error: s.error ?? null,
    incomplete_details: reason ? { reason } : null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    max_tool_calls: echo.max_tool_calls,
    model: s.model || echo.model,
    output: s.output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: echo.previous_response_id,
    prompt_cache_key: echo.prompt_cache_key,
    reasoning: echo.reasoning,
    safety_identifier: echo.safety_identifier,
    service_tier: echo.service_tier,
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_logprobs: echo.top_logprobs,
    top_p: echo.top_p,
    truncation: echo.truncation,
    usage: s.usage ? toResponsesUsage(s.usage) : null,
    ...(echo.user !== undefined ? { user: echo.user } : {}),
    metadata: echo.metadata,
    access_programs: null,
  };
}

const statusOf = (finish: FinishReason | null): "completed" | "incomplete" =>
  finish && INCOMPLETE[finish] ? "incomplete" : "completed";

/** The reasoning text a canonical message or delta carries (`reasoning_content`, or `reasoning`). */
const reasoningOf = (m: Json): string =>
  typeof m.reasoning_content === "string"
    ? m.reasoning_content
    : typeof m.reasoning === "string"
      ? m.reasoning
      : "";

const textPart = (text: string): Json => ({ type: "output_text", annotations: [], text });
const summaryPart = (text: string): Json => ({ type: "summary_text", text });

/** A canonical `chat.completion` body → a Response object. */
export function toResponse(json: Json, echo: ResponsesEcho): Json {
  const id = newId("resp");
  const choice = ((json.choices as Json[] | undefined) ?? [])[0] ?? {};
  const msg = (choice.message ?? {}) as Json;
  const finish = (choice.finish_reason as FinishReason | null | undefined) ?? null;
  const status = statusOf(finish);
  const output: Json[] = [];
  const reasoning = reasoningOf(msg);
  if (reasoning)
    output.push({ id: itemId("rs", id, 0), type: "reasoning", summary: [summaryPart(reasoning)] });
  const calls = (msg.tool_calls as Json[] | undefined) ?? [];
  const content: Json[] = [];
  if (typeof msg.content === "string" && (msg.content || calls.length === 0))
    content.push(textPart(msg.content));
  if (typeof msg.refusal === "string" && msg.refusal) content.push({ type: "refusal", refusal: msg.refusal });
  if (content.length === 0 && calls.length === 0) content.push(textPart(""));
  if (content.length > 0) {
    output.push({
      id: itemId("msg", id, output.length),
      type: "message",
      status,
      content,
      role: "assistant",
    });
  }
  for (const t of calls) {
    const fn = (t.function ?? {}) as Json;
    output.push({
      id: itemId("fc", id, output.length),
      type: "function_call",
      status,
      arguments: String(fn.arguments ?? ""),
      call_id: String(t.id ?? ""),
      ...responseName(String(fn.name ?? ""), echo.namespaced),
    });
  }
  return responseBody(echo, {
    id,
    createdAt: Number(json.created) || Math.floor(Date.now() / 1000),
    model: String(json.model ?? ""),
    status,
    output,
    usage: (json.usage as WireUsage | undefined) ?? null,
    finish,
  });
}

/** Error codes a `ResponseError` may carry; every other canonical error is a `server_error`. */
const errorCode = (err: Json): string =>
  err.code === "rate_limit_exceeded" || err.type === "rate_limit_error"
    ? "rate_limit_exceeded"
    : "server_error";

interface Item {
  index: number;
  item: Json;
  open: boolean;
  /** Messages: their content parts as they grow; the last one may be open. */
  parts?: { type: "output_text" | "refusal"; text: string; open: boolean }[];
  /** Reasoning: its summary text. */
  text?: string;
}

/**
 * Canonical chunk SSE → the Responses event stream. A message and a reasoning item are closed when another item
 * starts; function calls stay open to the end (their arguments may arrive in any order) and are closed in
 * output order before `response.completed` (or `response.incomplete`, for a length cut or a content filter). An
 * in-stream error (the canonical `{"error": …}` event, such as `upstream_stream_cut`) ends the stream with
 * `response.failed`, carrying what was produced so far. `onEnd` sees that last Response object before it is sent
 * (and may set its `store`).
 */
export function toResponsesStream(
  canonical: ReadableStream<Uint8Array>,
  echo: ResponsesEcho,
  onEnd?: (response: Json) => void,
): ReadableStream<Uint8Array> {
  return rewriteCanonical(canonical, (emit) => {
    let seq = 0;
    const send = (type: string, data: Json) => emit(type, { type, sequence_number: seq++, ...data });
    const state: ResponseState = {
      id: newId("resp"),
      createdAt: Math.floor(Date.now() / 1000),
      model: "",
      status: "in_progress",
      output: [],
      usage: null,
      finish: null,
    };
    const items: Item[] = [];
    let message: Item | null = null;
    let reasoning: Item | null = null;
    const tools = new Map<number, Item>();
    let lastTool: Item | null = null;
    let started = false;
    let ended = false;

    const snapshot = (status: Status, extra: Partial<ResponseState> = {}) =>
      responseBody(echo, { ...state, status, output: items.map((i) => structuredClone(i.item)), ...extra });
    const start = (model: string) => {
      if (started) return;
      started = true;
      state.model = model;
      const initial = snapshot("in_progress", { output: [], usage: null });
      send("response.created", { response: initial });
      send("response.in_progress", { response: initial });
    };
    /** A new output item: its id made from the response's and its index. */
    const add = (prefix: string, fields: Json, extra: Partial<Item> = {}): Item => {
      const item = { id: itemId(prefix, state.id, items.length), ...fields };
      const it: Item = { index: items.length, item, open: true, ...extra };
      items.push(it);
      send("response.output_item.added", { output_index: it.index, item: structuredClone(item) });
      return it;
    };
    const where = (it: Item) => ({ item_id: it.item.id, output_index: it.index });
    const done = (it: Item, status: "completed" | "incomplete") => {
      it.open = false;
      it.item.status = status;
      send("response.output_item.done", { output_index: it.index, item: structuredClone(it.item) });
    };

    const messageContent = (m: Item) =>
      (m.parts ?? []).map((p) =>
        p.type === "output_text" ? textPart(p.text) : { type: "refusal", refusal: p.text },
      );
    const closePart = (m: Item) => {
      const parts = m.parts ?? [];
      const p = parts[parts.length - 1];
      if (!p?.open) return;
      p.open = false;
      const at = { ...where(m), content_index: parts.length - 1 };
      if (p.type === "output_text") send("response.output_text.done", { ...at, text: p.text, logprobs: [] });
      else send("response.refusal.done", { ...at, refusal: p.text });
      m.item.content = messageContent(m);
      send("response.content_part.done", { ...at, part: (m.item.content as Json[])[at.content_index] });
    };
    const closeMessage = (status: "completed" | "incomplete") => {
      if (!message) return;
      closePart(message);
      done(message, status);
      message = null;
    };
    const closeReasoning = () => {
      if (!reasoning) return;
      const text = reasoning.text ?? "";
      const at = { ...where(reasoning), summary_index: 0 };
      send("response.reasoning_summary_text.done", { ...at, text });
      send("response.reasoning_summary_part.done", { ...at, part: summaryPart(text) });
      reasoning.item.summary = [summaryPart(text)];
      reasoning.open = false;
      send("response.output_item.done", {
        output_index: reasoning.index,
        item: structuredClone(reasoning.item),
      });
      reasoning = null;
    };
    const closeTool = (t: Item, status: "completed" | "incomplete") => {
      send("response.function_call_arguments.done", { ...where(t), arguments: t.item.arguments });
      done(t, status);
    };

    const appendText = (type: "output_text" | "refusal", delta: string) => {
      closeReasoning();
      if (!message) {
        message = add("msg", {
          type: "message",
          status: "in_progress",
          content: [],
          role: "assistant",
        });
        message.parts = [];
      }
      const m = message;
      const parts = m.parts ?? [];
      let p = parts[parts.length - 1];
      if (!p?.open || p.type !== type) {
        closePart(m);
        p = { type, text: "", open: true };
        parts.push(p);
        m.item.content = messageContent(m);
        send("response.content_part.added", {
          ...where(m),
          content_index: parts.length - 1,
          part: type === "output_text" ? textPart("") : { type: "refusal", refusal: "" },
        });
      }
      p.text += delta;
      m.item.content = messageContent(m);
      const at = { ...where(m), content_index: parts.length - 1, delta };
      if (type === "output_text" && delta) send("response.output_text.delta", { ...at, logprobs: [] });
      else if (delta) send("response.refusal.delta", at);
    };
    const appendReasoning = (delta: string) => {
      closeMessage("completed");
      if (!reasoning) {
        reasoning = add("rs", { type: "reasoning", summary: [] }, { text: "" });
        reasoning.item.summary = [summaryPart("")];
        send("response.reasoning_summary_part.added", {
          ...where(reasoning),
          summary_index: 0,
          part: summaryPart(""),
        });
      }
      reasoning.text = (reasoning.text ?? "") + delta;
      reasoning.item.summary = [summaryPart(reasoning.text)];
      send("response.reasoning_summary_text.delta", { ...where(reasoning), summary_index: 0, delta });
    };
    const toolDelta = (t: Json) => {
      const fn = (t.function ?? {}) as Json;
      const index = typeof t.index === "number" ? t.index : tools.size;
      let it = tools.get(index) ?? (t.id === undefined ? lastTool : null);
      if (!it) {
        closeMessage("completed");
        closeReasoning();
        it = add("fc", {
          type: "function_call",
          status: "in_progress",
          arguments: "",
          call_id: String(t.id ?? ""),
          ...responseName(String(fn.name ?? ""), echo.namespaced),
        });
        tools.set(index, it);
        lastTool = it;
      }
      if (typeof fn.arguments === "string" && fn.arguments) {
        it.item.arguments = String(it.item.arguments) + fn.arguments;
        send("response.function_call_arguments.delta", { ...where(it), delta: fn.arguments });
      }
    };

    const finish = () => {
      if (ended) return;
      ended = true;
      start(echo.model);
      const status = statusOf(state.finish ?? null);
      if (!items.some((i) => i.item.type === "message" || i.item.type === "function_call"))
        appendText("output_text", "");
      closeMessage(status);
      closeReasoning();
      for (const it of items) if (it.open && it.item.type === "function_call") closeTool(it, status);
      const response = snapshot(status);
      onEnd?.(response);
      send(status === "completed" ? "response.completed" : "response.incomplete", { response });
    };
    const fail = (err: Json) => {
      if (ended) return;
      ended = true;
      start(echo.model);
      for (const it of items) if (it.open && "status" in it.item) it.item.status = "incomplete";
      const error = { code: errorCode(err), message: String(err.message ?? "The upstream failed.") };
      const response = snapshot("failed", { error });
      onEnd?.(response);
      send("response.failed", { response });
    };

    const chunk = (c: Json) => {
      if (ended) return;
      start(String(c.model ?? ""));
      if (c.usage && typeof c.usage === "object") state.usage = c.usage as WireUsage;
      const choice = ((c.choices as Json[] | undefined) ?? [])[0];
      if (!choice) return;
      const delta = (choice.delta ?? {}) as Json;
      const thought = reasoningOf(delta);
      if (thought) appendReasoning(thought);
      if (typeof delta.content === "string" && delta.content) appendText("output_text", delta.content);
      if (typeof delta.refusal === "string" && delta.refusal) appendText("refusal", delta.refusal);
      for (const t of (delta.tool_calls as Json[] | undefined) ?? []) toolDelta(t);
      if (choice.finish_reason) state.finish = choice.finish_reason as FinishReason;
    };
    return {
      chunk,
      error: fail,
      done: finish,
      // The pipeline ends every stream with [DONE] or an error event; anything else was cut.
      end: () => fail({ message: "The upstream stream ended before it was complete." }),
    };
  });
}
