import type { Target } from "../config/resolve";
import type { ProviderConfig } from "../config/schema";
import { prependTopLevel, removeTopLevel, replaceTopLevelString } from "../formats/json-text";
import { GatewayError } from "../http/errors";
import { DROPPED_HEADER } from "./native";
import { errorBody, withoutCacheMarkers } from "./translate";
import {
  type Operation,
  type ProviderAdapter,
  passthroughBody,
  type UpstreamCall,
  type UpstreamErrorInfo,
} from "./types";

const PATHS: Record<Operation, string> = { chat: "/chat/completions", embeddings: "/embeddings" };

/** What distinguishes one OpenAI-wire provider from another: data, not code paths. */
export interface OpenAIWireSpec {
  /** The full URL for an operation on a target. */
  url(op: Operation, target: Target): string;
  /** Authentication and other headers for a target. */
  headers(target: Target): Record<string, string>;
  /** Whether to ask for `stream_options.include_usage` (see presets.ts). */
  streamUsage: "include_usage" | "always";
  /** Transport; an in-process handler for the mock provider. */
  fetch?: (req: Request) => Promise<Response>;
  /**
   * Set when the API serves the Responses API too (OpenAI, Azure OpenAI's v1 API): where, and the `model` its
   * body names for a target (Azure: the deployment). A `/v1/responses` request then passes through as it came.
   */
  responses?: { url(target: Target): string; model(target: Target): string };
}

/** `${baseUrl}/chat/completions` — the URL rule of OpenAI and every OpenAI-compatible API. */
export function v1Url(baseUrl: string): (op: Operation) => string {
  const base = baseUrl.replace(/\/+$/, "");
  return (op) => base + PATHS[op];
}

export function bearer(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/**
 * What the upstream body does with `stream_options`: "usage" asks for include_usage (kept beside the client's
 * other options), "remove" drops the field (these APIs report usage unasked and may reject the parameter,
 * Mistral with a 422, even the client's own), null leaves it as the client sent it.
 */
function streamOptionsEdit(call: UpstreamCall, spec: OpenAIWireSpec): "usage" | "remove" | null {
  if (call.op !== "chat") return null;
  if (call.stream && spec.streamUsage === "include_usage") return "usage";
  return spec.streamUsage === "always" ? "remove" : null;
}

/**
 * Builds the upstream body: the client's fields, the target's model, and `stream_options` as streamOptionsEdit
 * says. When the fields are the client's canonical body unchanged, its own text goes, edited in place (clientBody).
 */
function upstreamBody(call: UpstreamCall, fields: Record<string, unknown>, spec: OpenAIWireSpec): string {
  const edit = streamOptionsEdit(call, spec);
  const text = call.clientText?.of === fields ? clientBody(call, call.clientText.text, edit) : null;
  if (text !== null) return text;
  const body: Record<string, unknown> = { ...fields, model: call.target.model };
  const opts = call.body.stream_options;
  if (edit === "usage") {
    body.stream_options = { ...(typeof opts === "object" && opts ? opts : {}), include_usage: true };
  } else if (edit === "remove") {
    delete body.stream_options;
  }
  return JSON.stringify(body);
}

/**
 * The client's own text with the model swapped and `edit` made in place, or null when the edit would have to
 * rewrite a value the client sent (its own `stream_options` without include_usage).
 */
function clientBody(call: UpstreamCall, text: string, edit: "usage" | "remove" | null): string | null {
  const opts = call.body.stream_options;
  const out = replaceTopLevelString(text, "model", call.target.model);
  if (opts === undefined) {
    return edit === "usage" ? prependTopLevel(out, "stream_options", { include_usage: true }) : out;
  }
  if (edit === "remove") return removeTopLevel(out, "stream_options");
  if (edit === "usage" && (opts as { include_usage?: unknown } | null)?.include_usage !== true) return null;
  return out;
}

const keepsMarkers = new WeakMap<ProviderConfig, boolean>();

/**
 * OpenRouter reads Anthropic-style `cache_control` breakpoints on content parts: its markers stay. Decided
 * once per provider config (parsing its base URL on every call cost more than the rest of this adapter).
 */
function keepsCacheMarkers(p: ProviderConfig): boolean {
  let keeps = keepsMarkers.get(p);
  if (keeps === undefined) {
    keeps =
      p.type === "openai-compatible" &&
      (p.preset === "openrouter" ||
        (p.baseUrl !== undefined && new URL(p.baseUrl).hostname === "openrouter.ai"));
    keepsMarkers.set(p, keeps);
  }
  return keeps;
}

/**
 * The chat fields as sent: Sluice's internal `cache_control` markers (from the Anthropic translation, see
 * translate.ts) stripped, as OpenAI rejects unknown fields and caches prompts by itself; each one listed.
 */
function chatFields(call: UpstreamCall): { fields: Record<string, unknown>; dropped: string[] } {
  if (call.op !== "chat" || keepsCacheMarkers(call.target.provider))
    return { fields: call.body, dropped: [] };
  const { body, dropped } = withoutCacheMarkers(call.body);
  return { fields: call.target.provider.type === "openai-compatible" ? withSystemText(body) : body, dropped };
}

/**
 * System messages whose content is text parts, as one text (blocks separated by a blank line): OpenAI and
 * Azure take part arrays, but several OpenAI-compatible servers take only a string there.
 */
function withSystemText(body: Record<string, unknown>): Record<string, unknown> {
  const messages = body.messages;
  if (!Array.isArray(messages)) return body;
  const joined = (m: Record<string, unknown>) =>
    (m.content as { text?: unknown }[]).map((p) => String(p.text ?? "")).join("\n\n");
  const isParts = (m: Record<string, unknown>) =>
    m.role === "system" &&
    Array.isArray(m.content) &&
    (m.content as { type?: unknown }[]).every((p) => p.type === "text");
  if (!(messages as Record<string, unknown>[]).some(isParts)) return body;
  return {
    ...body,
    messages: (messages as Record<string, unknown>[]).map((m) =>
      isParts(m) ? { ...m, content: joined(m) } : m,
    ),
  };
}

/** Whether a 400 refuses `reasoning_effort` (a model that does not reason: gpt-4.1, many compatible servers). */
async function refusesReasoningEffort(res: Response): Promise<boolean> {
  if (res.status !== 400) return false;
  const e = await readOpenAIError(res.clone());
  return e.param === "reasoning_effort" || /\breasoning_effort\b/.test(e.message);
}

/** The answer with the dropped fields listed in `x-sluice-dropped-params`, as native adapters list theirs. */
function listingDropped(res: Response, dropped: string[]): Response {
  if (dropped.length === 0 || !res.ok) return res;
  const headers = new Headers(res.headers);
  headers.set(DROPPED_HEADER, dropped.join(","));
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/**
 * The shared base of every provider that speaks OpenAI's wire format (OpenAI, Azure, the presets, mock):
 * the body passes through with the model swapped, bar Sluice's internal cache markers; the answer passes back
 * untouched. A model that refuses `reasoning_effort` (400 naming it) is asked once more without it, the field
 * then listed as dropped, so a reasoning hint (from an Anthropic client's `thinking`, or a fallback from a
 * reasoning model to one that is not) does not fail the call. With `strict` on, either is a 400 instead.
 */
export function openAIWire(spec: OpenAIWireSpec): ProviderAdapter {
  // fetch(url, init) builds the one Request itself; a Request made here first would be built twice.
  const send = (url: string, init: RequestInit) =>
    spec.fetch ? spec.fetch(new Request(url, init)) : fetch(url, init);
  const adapter: ProviderAdapter = {
    async send(call) {
      const headers = {
        "content-type": "application/json",
        accept: call.stream ? "text/event-stream" : "application/json",
        ...spec.headers(call.target),
      };
      const { fields, dropped } = chatFields(call);
      const strict = call.target.provider.strict;
      if (dropped.length > 0 && strict) {
        throw new GatewayError(
          "unsupported_parameter",
          `Provider '${call.target.providerName}' does not support '${dropped[0]}' (strict mode is on).`,
          { param: dropped[0] ?? null },
        );
      }
      const post = (body: Record<string, unknown>) =>
        send(spec.url(call.op, call.target), {
          method: "POST",
          headers,
          body: upstreamBody(call, body, spec),
          signal: call.signal,
        });
      const res = await post(fields);
      if (
        call.op !== "chat" ||
        fields.reasoning_effort == null ||
        strict ||
        !(await refusesReasoningEffort(res))
      ) {
        return listingDropped(res, dropped);
      }
      await res.body?.cancel().catch(() => {});
      const { reasoning_effort: _effort, ...rest } = fields;
      return listingDropped(await post(rest), [...dropped, "reasoning_effort"]);
    },
    readError: readOpenAIError,
  };
  const responses = spec.responses;
  if (!responses) return adapter;
  return {
    ...adapter,
    speaks: "openai-responses",
    // The client's body with only `model` replaced; none of the client's headers (its key least of all) travel.
    async passthrough(call, req) {
      if (req.format !== "openai-responses") return null;
      let body = replaceTopLevelString(
        passthroughBody(req, call.target),
        "model",
        responses.model(call.target),
      );
      if (req.outputCap !== undefined) body = prependTopLevel(body, "max_output_tokens", req.outputCap);
      return send(responses.url(call.target), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: call.stream ? "text/event-stream" : "application/json",
          ...spec.headers(call.target),
        },
        body,
        signal: call.signal,
      });
    },
  };
}

/** Reads `{"error":{message,type,code,param}}`, `{"error":"…"}`, `{"message":"…"}` or plain text. */
export async function readOpenAIError(res: Response): Promise<UpstreamErrorInfo> {
  const { json, fallback } = await errorBody(res);
  if (json === undefined) return { message: fallback };
  const root = (Array.isArray(json) ? json[0] : json) as Record<string, unknown> | undefined;
  const err = root?.error;
  if (typeof err === "string") return { message: err };
  const o = (typeof err === "object" && err !== null ? err : (root ?? {})) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);
  return {
    message: str(o.message) ?? fallback,
    type: str(o.type),
    code: str(o.code),
    param: str(o.param) ?? null,
  };
}
