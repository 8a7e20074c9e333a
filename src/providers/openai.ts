import type { Target } from "../config/resolve";
import { errorBody } from "./translate";
import type { Operation, ProviderAdapter, UpstreamCall, UpstreamErrorInfo } from "./types";

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
}

/** `${baseUrl}/chat/completions` — the URL rule of OpenAI and every OpenAI-compatible API. */
export function v1Url(baseUrl: string): (op: Operation) => string {
  const base = baseUrl.replace(/\/+$/, "");
  return (op) => base + PATHS[op];
}

export function bearer(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** Builds the upstream body: the client's fields, the target's model, and a usage request when streaming. */
function upstreamBody(call: UpstreamCall, spec: OpenAIWireSpec): string {
  const body: Record<string, unknown> = { ...call.body, model: call.target.model };
  if (call.op === "chat" && call.stream && spec.streamUsage === "include_usage") {
    const opts = call.body.stream_options;
    body.stream_options = { ...(typeof opts === "object" && opts ? opts : {}), include_usage: true };
  } else if (call.op === "chat" && spec.streamUsage === "always") {
    // These APIs report usage unasked and may reject the parameter (Mistral: 422), even the client's own.
    delete body.stream_options;
  }
  return JSON.stringify(body);
}

/**
 * The shared base of every provider that speaks OpenAI's wire format (OpenAI, Azure, the presets, mock):
 * the body passes through with the model swapped; the answer passes back untouched.
 */
export function openAIWire(spec: OpenAIWireSpec): ProviderAdapter {
  const send = spec.fetch ?? ((req: Request) => fetch(req));
  return {
    send(call) {
      const headers = {
        "content-type": "application/json",
        accept: call.stream ? "text/event-stream" : "application/json",
        ...spec.headers(call.target),
      };
      const req = new Request(spec.url(call.op, call.target), {
        method: "POST",
        headers,
        body: upstreamBody(call, spec),
        signal: call.signal,
      });
      return send(req);
    },
    readError: readOpenAIError,
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
