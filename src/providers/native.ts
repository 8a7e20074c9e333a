import { type Completion, completionBody } from "../formats/chunks";
import { GatewayError } from "../http/errors";
import { invalidAnswer, readJsonAnswer } from "./translate";
import type { ProviderAdapter, UpstreamCall, UpstreamErrorInfo } from "./types";

/** Response header listing request fields a translator dropped because the provider has no equivalent. */
export const DROPPED_HEADER = "x-sluice-dropped-params";

/** A translated upstream request: where to send it, and which client fields had no place in it. */
export interface NativeRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Canonical (OpenAI) field names the translation dropped. */
  dropped: string[];
}

/**
 * What a provider with its own wire format supplies; the base does the rest (transport, strict mode,
 * dropped-field header, JSON vs stream). Every function is pure but `request`, which may sign (Bedrock).
 */
export interface NativeSpec {
  /** Canonical call → the provider's request. May throw a GatewayError (e.g. 400 for an untranslatable field). */
  request(call: UpstreamCall): NativeRequest | Promise<NativeRequest>;
  /** The provider's JSON answer → the canonical completion (chat) or an OpenAI embeddings body. */
  completion(json: unknown, call: UpstreamCall): Completion | Record<string, unknown>;
  /** The provider's stream body → canonical `chat.completion.chunk` SSE (see formats/chunks.ts). */
  stream(body: ReadableStream<Uint8Array>, call: UpstreamCall): ReadableStream<Uint8Array>;
  readError(res: Response): Promise<UpstreamErrorInfo>;
  /** When true, a dropped field is a 400 instead of a header. */
  strict?: boolean | undefined;
  /** Transport: `fetch` by default; a binding-backed provider (Workers AI) answers the request itself. */
  fetch?: (req: Request, call: UpstreamCall) => Promise<Response>;
}

const isCompletion = (v: Completion | Record<string, unknown>): v is Completion =>
  "toolCalls" in v && "finishReason" in v;

/**
 * The provider's request for a call. The schemas check every value a translator reads, so a translator that
 * still throws met an input they let through: that is the client's request the gateway cannot carry (a 400,
 * logged so the gap gets closed), never a network failure blamed on the provider.
 */
async function translated(spec: NativeSpec, call: UpstreamCall): Promise<NativeRequest> {
  try {
    return await spec.request(call);
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    console.error(
      JSON.stringify({
        event: "sluice.translate_failed",
        provider: call.target.providerName,
        error: String(e),
      }),
    );
    throw new GatewayError(
      "invalid_request",
      `The request could not be translated for provider '${call.target.providerName}'.`,
    );
  }
}

/**
 * The shared base of every provider with its own wire format: translate the canonical request, send it,
 * and translate a 2xx answer back to OpenAI wire format. Error answers pass back as they are for `readError`.
 */
export function nativeAdapter(spec: NativeSpec): ProviderAdapter {
  // fetch(url, init) builds the one Request itself; a Request made here first would be built twice.
  const send = (url: string, init: RequestInit, call: UpstreamCall) =>
    spec.fetch ? spec.fetch(new Request(url, init), call) : fetch(url, init);
  return {
    async send(call) {
      const r = await translated(spec, call);
      if (r.dropped.length > 0 && spec.strict) {
        throw new GatewayError(
          "unsupported_parameter",
          `Provider '${call.target.providerName}' does not support '${r.dropped[0]}' (strict mode is on).`,
          { param: r.dropped[0] ?? null },
        );
      }
      const res = await send(
        r.url,
        { method: "POST", headers: r.headers, body: r.body, signal: call.signal },
        call,
      );
      if (!res.ok) return res;
      const headers = new Headers();
      if (r.dropped.length > 0) headers.set(DROPPED_HEADER, r.dropped.join(","));
      if (call.stream && call.op === "chat" && res.body) {
        headers.set("content-type", "text/event-stream; charset=utf-8");
        return new Response(spec.stream(res.body, call), { headers });
      }
      const { json } = await readJsonAnswer(res, call.target.providerName);
      let out: Completion | Record<string, unknown>;
      try {
        out = spec.completion(json, call);
      } catch {
        throw invalidAnswer(call.target.providerName, "its answer is not in the provider's format");
      }
      headers.set("content-type", "application/json");
      return new Response(JSON.stringify(isCompletion(out) ? completionBody(out) : out), { headers });
    },
    readError: spec.readError,
  };
}
