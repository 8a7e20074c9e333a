import type { ProviderConfig } from "../config/schema";
import { translateSse } from "../formats/chunks";
import { prependTopLevel, removeTopLevel } from "../formats/json-text";
import { GatewayError } from "../http/errors";
import { anthropicStream, fromAnthropicMessage, readAnthropicError, toAnthropicRequest } from "./anthropic";
import { toGeminiChat } from "./gemini-request";
import { fromGenerateContent, geminiStream, readGeminiError } from "./gemini-response";
import { nativeAdapter } from "./native";
import { errorBody } from "./translate";
import type { ProviderAdapter, UpstreamCall, UpstreamErrorInfo } from "./types";
import { accessToken, parseServiceAccount, type ServiceAccount, TokenExchangeError } from "./vertex-auth";

type Config = Extract<ProviderConfig, { type: "vertex" }>;
type AnthropicConfig = Extract<ProviderConfig, { type: "anthropic" }>;

/** The Messages API version Claude on Vertex takes, in the body (not a header). */
export const VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16";

/** Claude models are Anthropic's publisher on Vertex; every other model is Google's (Gemini). */
export const isClaudeModel = (model: string) => model.startsWith("claude-");

/** The API host of a region: `{region}-aiplatform.googleapis.com`, or `aiplatform.googleapis.com` for `global`. */
export function vertexBase(p: Pick<Config, "region" | "baseUrl">): string {
  if (p.baseUrl) return p.baseUrl.replace(/\/+$/, "");
  return p.region === "global"
    ? "https://aiplatform.googleapis.com"
    : `https://${p.region}-aiplatform.googleapis.com`;
}

/** A path segment; `@` (Claude's version suffix, `claude-sonnet-4-5@20250929`) stays as Google's examples write it. */
const segment = (s: string) => encodeURIComponent(s).replace(/%40/g, "@");

/** `…/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}`. */
export function vertexUrl(
  p: Config,
  publisher: "google" | "anthropic",
  model: string,
  method: string,
): string {
  return `${vertexBase(p)}/v1/projects/${segment(p.project)}/locations/${segment(p.region)}/publishers/${publisher}/models/${segment(model)}:${method}`;
}

/** The service account of a provider, read once per adapter; a malformed one is a `config_invalid` naming it. */
function credentials(p: Config): (providerName: string) => ServiceAccount {
  let sa: ServiceAccount | undefined;
  return (providerName) => {
    sa ??= parseServiceAccount(p.serviceAccount, `providers.${providerName}.serviceAccount`);
    return sa;
  };
}

/** A token endpoint's refusal as the answer Vertex gives for bad credentials (401), read by `readVertexError`. */
function refusal(providerName: string, e: TokenExchangeError): Response {
  const status = e.status >= 500 ? 503 : 401;
  const message = `Google refused the service account's token request for provider '${providerName}' (${e.status}): ${e.message}`;
  return new Response(
    JSON.stringify({
      error: { code: status, message, status: status === 401 ? "UNAUTHENTICATED" : "UNAVAILABLE" },
    }),
    { status, headers: { "content-type": "application/json" } },
  );
}

/**
 * Vertex errors: Google's `{"error":{code,message,status}}` from the platform (auth, quota, unknown model, every
 * Gemini error), Anthropic's `{"type":"error","error":{type,message}}` from a Claude model itself.
 */
export async function readVertexError(res: Response): Promise<UpstreamErrorInfo> {
  const { json } = await errorBody(res.clone());
  const anthropic =
    typeof json === "object" && json !== null && (json as { type?: unknown }).type === "error";
  return anthropic ? readAnthropicError(res) : readGeminiError(res);
}

/**
 * The URL and headers (bearer token included) of a Claude call on Vertex, for a caller that builds the body
 * itself (a `/v1/messages` passthrough): the body then carries `anthropic_version` (VERTEX_ANTHROPIC_VERSION)
 * and no `model`. Async, since it may exchange a token. A malformed service account throws `config_invalid`;
 * a refused token exchange a 502 `upstream_auth_failed` with Google's message.
 */
export async function vertexAnthropicEndpoint(
  p: Config,
  model: string,
  stream: boolean,
  opts: { providerName?: string; signal?: AbortSignal } = {},
): Promise<{ url: string; headers: Record<string, string> }> {
  const name = opts.providerName ?? "vertex";
  const sa = parseServiceAccount(p.serviceAccount, `providers.${name}.serviceAccount`);
  let token: string;
  try {
    token = await accessToken(sa, `providers.${name}.serviceAccount`, opts.signal);
  } catch (e) {
    if (!(e instanceof TokenExchangeError)) throw e;
    throw new GatewayError(
      "upstream_error",
      `Provider '${name}' refused the gateway's credentials: Google refused the service account's token request (${e.status}): ${e.message}`,
      { status: 502, wireCode: "upstream_auth_failed" },
    );
  }
  return {
    url: vertexUrl(p, "anthropic", model, stream ? "streamRawPredict" : "rawPredict"),
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(p.headers ?? {}) },
  };
}

/**
 * The `vertex` provider (Google Cloud Vertex AI), authenticated with a service account (vertex-auth.ts):
 * - Gemini models: the `gemini` provider's translators, at `publishers/google/models/{model}:generateContent`
 *   (`:streamGenerateContent?alt=sse` for streams);
 * - `claude-*` models: the `anthropic` provider's translators (API 2023-06-01 semantics, which
 *   `vertex-2023-10-16` is), at `publishers/anthropic/models/{model}:rawPredict` / `:streamRawPredict`, the
 *   body without `model` and with `anthropic_version`. Anthropic's 529 (overloaded) is answered as a 503.
 * Chat only: embeddings on Vertex are another API (`:predict`), answered with a 400.
 */
export function vertexAdapter(p: Config): ProviderAdapter {
  const account = credentials(p);
  const extra = p.headers ?? {};
  /** The transport: the request with a bearer token, or the token endpoint's refusal as a 401 answer. */
  const authorized = async (req: Request, call: UpstreamCall): Promise<Response> => {
    const name = call.target.providerName;
    let token: string;
    try {
      token = await accessToken(account(name), `providers.${name}.serviceAccount`, call.signal);
    } catch (e) {
      if (e instanceof TokenExchangeError) return refusal(name, e);
      throw e;
    }
    const headers = new Headers(req.headers);
    headers.set("authorization", `Bearer ${token}`);
    const res = await fetch(new Request(req, { headers }));
    return res.status === 529 ? new Response(res.body, { status: 503, headers: res.headers }) : res;
  };
  const gemini = nativeAdapter({
    strict: p.strict,
    request(call) {
      account(call.target.providerName);
      const t = toGeminiChat(call.body, call.target.model);
      const method = call.stream ? "streamGenerateContent?alt=sse" : "generateContent";
      return {
        url: vertexUrl(p, "google", call.target.model, method),
        headers: { "content-type": "application/json", ...extra },
        body: JSON.stringify(t.body),
        dropped: t.dropped,
      };
    },
    completion: (json, call) => fromGenerateContent(json as Record<string, unknown>, call.target.model),
    stream: (body, call) =>
      translateSse(body, geminiStream(), `chatcmpl-${crypto.randomUUID()}`, call.target.model),
    readError: readVertexError,
    fetch: authorized,
  });
  // `vertex-2023-10-16` is the Messages API of 2023-06-01: a top-level `system`, sampling parameters taken.
  const asAnthropic: AnthropicConfig = {
    type: "anthropic",
    apiVersion: "2023-06-01",
    defaultMaxTokens: p.defaultMaxTokens,
    strict: p.strict,
  };
  const claude = nativeAdapter({
    strict: p.strict,
    request(call) {
      account(call.target.providerName);
      const { body, dropped } = toAnthropicRequest(call, asAnthropic);
      const { model: _model, ...rest } = body;
      return {
        url: vertexUrl(p, "anthropic", call.target.model, call.stream ? "streamRawPredict" : "rawPredict"),
        headers: { "content-type": "application/json", ...extra },
        body: JSON.stringify({ anthropic_version: VERTEX_ANTHROPIC_VERSION, ...rest }),
        dropped,
      };
    },
    completion: (json) => fromAnthropicMessage(json),
    stream: (body, call) => translateSse(body, anthropicStream(), "msg", call.target.model),
    readError: readVertexError,
    fetch: authorized,
  });
  return {
    speaks: "anthropic",
    /** A `/v1/messages` client's body to a Claude model: as it came, but `model` out and `anthropic_version` in. */
    async passthrough(call, req) {
      if (!isClaudeModel(call.target.model) || req.path !== "/v1/messages") return null;
      const { url, headers } = await vertexAnthropicEndpoint(p, call.target.model, call.stream, {
        providerName: call.target.providerName,
        signal: call.signal,
      });
      const beta = req.headers.get("anthropic-beta");
      if (beta) headers["anthropic-beta"] = beta;
      const body = prependTopLevel(
        removeTopLevel(req.body, "model"),
        "anthropic_version",
        VERTEX_ANTHROPIC_VERSION,
      );
      const res = await fetch(new Request(url, { method: "POST", headers, body, signal: call.signal }));
      return res.status === 529 ? new Response(res.body, { status: 503, headers: res.headers }) : res;
    },
    async send(call) {
      if (call.op !== "chat") {
        throw new GatewayError(
          "unsupported_operation",
          `Provider '${call.target.providerName}' (vertex) serves chat only; embeddings are not supported.`,
        );
      }
      return isClaudeModel(call.target.model) ? claude.send(call) : gemini.send(call);
    },
    readError: readVertexError,
  };
}
