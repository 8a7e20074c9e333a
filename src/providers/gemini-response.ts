import {
  type Completion,
  type FinishReason,
  type StreamTranslator,
  type ToolCall,
  type WireUsage,
  wireUsage,
} from "../formats/chunks";
import { embeddingsBody } from "../formats/embeddings";
import { THOUGHT_MARK } from "./gemini-request";
import { errorBody } from "./translate";
import type { UpstreamErrorInfo } from "./types";

/**
 * Gemini answers → canonical ones: `GenerateContentResponse` (whole, or one SSE chunk at a time),
 * `embedContent`/`batchEmbedContents` answers, and Google's error body. Pure functions.
 */

type Json = Record<string, unknown>;

const FILTERED = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

/** Gemini's finishReason → OpenAI's; a turn that called functions is `tool_calls`. */
export function finishReasonOf(reason: unknown, calledTools: boolean): FinishReason {
  if (reason === "MAX_TOKENS") return "length";
  if (typeof reason === "string" && FILTERED.has(reason)) return "content_filter";
  return calledTools ? "tool_calls" : "stop";
}

/**
 * `usageMetadata` → canonical usage. Gemini counts thoughts apart from candidates (total = prompt +
 * candidates + thoughts + tool-use prompt), while OpenAI's completion_tokens include reasoning: output is
 * candidates + thoughts; input is prompt + tool-use prompt, of which `cachedContentTokenCount` were cached.
 */
export function usageOf(meta: unknown): WireUsage | null {
  if (typeof meta !== "object" || meta === null) return null;
  const m = meta as Json;
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  return wireUsage({
    input: n(m.promptTokenCount) + n(m.toolUsePromptTokenCount),
    output: n(m.candidatesTokenCount) + n(m.thoughtsTokenCount),
    cachedInput: n(m.cachedContentTokenCount),
    reasoning: n(m.thoughtsTokenCount),
  });
}

/** The tool-call id for the n-th function call: Gemini's own id or `call_<n>`, with its thought signature. */
function callId(part: Json, n: number): string {
  const fc = part.functionCall as Json;
  const id = typeof fc.id === "string" && fc.id ? fc.id : `call_${n}`;
  return typeof part.thoughtSignature === "string" ? `${id}${THOUGHT_MARK}${part.thoughtSignature}` : id;
}

interface PartSink {
  text(t: string): void;
  reasoning(t: string): void;
  call(c: ToolCall): void;
}

/** Feeds one response's candidate parts to a sink; `calls` is the count of function calls seen before. */
function readParts(res: Json, calls: number, sink: PartSink): void {
  const candidate = (res.candidates as Json[] | undefined)?.[0];
  const parts = ((candidate?.content as Json | undefined)?.parts ?? []) as Json[];
  for (const p of parts) {
    if (typeof p.functionCall === "object" && p.functionCall) {
      const fc = p.functionCall as Json;
      sink.call({ id: callId(p, calls++), name: String(fc.name), arguments: JSON.stringify(fc.args ?? {}) });
    } else if (typeof p.text === "string") {
      if (p.thought === true) sink.reasoning(p.text);
      else sink.text(p.text);
    }
  }
}

const finishOf = (res: Json): unknown =>
  (res.candidates as Json[] | undefined)?.[0]?.finishReason ??
  (res.promptFeedback as Json | undefined)?.blockReason;

/** A whole `GenerateContentResponse` → the canonical completion (a blocked prompt → `content_filter`). */
export function fromGenerateContent(res: Json, model: string): Completion {
  if (!Array.isArray(res.candidates) && typeof res.promptFeedback !== "object") {
    throw new TypeError("A GenerateContentResponse has candidates or promptFeedback.");
  }
  let content = "";
  let reasoning = "";
  const toolCalls: ToolCall[] = [];
  readParts(res, 0, {
    text: (t) => {
      content += t;
    },
    reasoning: (t) => {
      reasoning += t;
    },
    call: (c) => toolCalls.push(c),
  });
  const blocked = (res.promptFeedback as Json | undefined)?.blockReason !== undefined && !res.candidates;
  return {
    id: `chatcmpl-${typeof res.responseId === "string" ? res.responseId : crypto.randomUUID()}`,
    model: typeof res.modelVersion === "string" ? res.modelVersion : model,
    content: content || (toolCalls.length > 0 || blocked ? null : ""),
    toolCalls,
    finishReason: blocked ? "content_filter" : finishReasonOf(finishOf(res), toolCalls.length > 0),
    usage: usageOf(res.usageMetadata),
    reasoning: reasoning || undefined,
  };
}

/**
 * Translates `streamGenerateContent?alt=sse`: each event is a whole GenerateContentResponse; function calls
 * arrive whole (one toolStart + toolArgs each); usage is cumulative, the last one wins.
 */
export function geminiStream(): StreamTranslator {
  let calls = 0;
  let finish: unknown;
  let blocked = false;
  let usage: WireUsage | null = null;
  let named = false;
  return {
    event(e, w) {
      let res: Json;
      try {
        res = JSON.parse(e.data) as Json;
      } catch {
        return;
      }
      if (typeof res.error === "object" && res.error) {
        w.error(
          String((res.error as Json).message ?? "Gemini stream error"),
          "upstream_error",
          String((res.error as Json).status ?? ""),
        );
        return;
      }
      if (!named && typeof res.responseId === "string") {
        w.id = `chatcmpl-${res.responseId}`;
        if (typeof res.modelVersion === "string") w.model = res.modelVersion;
        named = true;
      }
      w.role();
      readParts(res, calls, {
        text: (t) => w.text(t),
        reasoning: (t) => w.reasoning(t),
        call: (c) => {
          w.toolStart(calls, c.id, c.name);
          w.toolArgs(calls++, c.arguments);
        },
      });
      finish = finishOf(res) ?? finish;
      if ((res.promptFeedback as Json | undefined)?.blockReason !== undefined && !res.candidates)
        blocked = true;
      usage = usageOf(res.usageMetadata) ?? usage;
    },
    end(w) {
      // No finish reason (nor a block) arrived: the stream was cut, and translateBytes says so.
      if (finish === undefined && !blocked) return;
      w.role();
      w.finish(blocked ? "content_filter" : finishReasonOf(finish, calls > 0));
      if (usage) w.usage(usage);
    },
  };
}

/** `{embedding:{values}}` or `{embeddings:[{values}]}` → the OpenAI embeddings body (float or base64). */
export function fromEmbed(res: Json, req: Json, model: string): Json {
  const list = Array.isArray(res.embeddings) ? (res.embeddings as Json[]) : [res.embedding as Json];
  const vectors = list.map((e) => (Array.isArray(e?.values) ? (e.values as number[]) : []));
  const inputs = typeof req.input === "string" ? [req.input] : (req.input as string[]);
  // Gemini's embed answers carry no usage: about four characters a token, an estimate for budgets.
  const tokens = inputs.reduce((s, t) => s + Math.max(1, Math.ceil(String(t).length / 4)), 0);
  return embeddingsBody(vectors, model, tokens, req.encoding_format);
}

/**
 * Google's error body `{"error":{"code","message","status","details"}}` (also inside a JSON array):
 * type = the status in lower case (`invalid_argument`, `resource_exhausted`), code = the ErrorInfo
 * `reason` when there is one (`API_KEY_INVALID`), param = the first BadRequest field violation.
 */
export async function readGeminiError(res: Response): Promise<UpstreamErrorInfo> {
  const { json, fallback } = await errorBody(res);
  if (json === undefined) return { message: fallback };
  const root = (Array.isArray(json) ? json[0] : json) as Json | undefined;
  const err = (typeof root?.error === "object" && root.error ? root.error : {}) as Json;
  const details = (Array.isArray(err.details) ? err.details : []) as Json[];
  const reason = details.find((d) => typeof d.reason === "string")?.reason as string | undefined;
  const field = (
    details.find((d) => Array.isArray(d.fieldViolations))?.fieldViolations as Json[] | undefined
  )?.[0]?.field;
  return {
    message: typeof err.message === "string" && err.message ? err.message : fallback,
    type: typeof err.status === "string" ? err.status.toLowerCase() : undefined,
    code: reason,
    param: typeof field === "string" ? field : null,
  };
}

/** Marks Google's "API key not valid" (a 400) as the 401 it means, so the gateway treats it as an auth failure. */
export async function authFailureAs401(res: Response): Promise<Response> {
  if (res.status !== 400) return res;
  const text = await res.text();
  const status = text.includes("API_KEY_INVALID") ? 401 : 400;
  return new Response(text, { status, statusText: res.statusText, headers: res.headers });
}
