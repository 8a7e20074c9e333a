import type { Target } from "../config/resolve";
import type { GatewayError } from "../http/errors";
import type { RequestFacts } from "../routing/rules";

export type Operation = "chat" | "embeddings";

/** One upstream attempt, as the pipeline hands it to a provider adapter. */
export interface UpstreamCall {
  op: Operation;
  /** The validated inbound body in OpenAI form (the gateway's canonical request). */
  body: Record<string, unknown>;
  stream: boolean;
  target: Target;
  signal: AbortSignal;
  /** The Worker's bindings and vars (the Workers AI provider calls its `AI` binding). */
  env: Record<string, unknown>;
  /** Set when the client sent the canonical form itself (OpenAI chat, embeddings): the JSON text of its body. */
  clientText?: ClientText | undefined;
}

/**
 * The client's JSON text of `of`, the canonical body parsed from it. An OpenAI-wire target is sent this text with
 * only its own edits (the model, `stream_options`) while the body it would send is still `of`: the client's
 * bytes as they came (large integers, key order, spacing), and no re-serializing of a large request.
 */
export interface ClientText {
  of: Record<string, unknown>;
  text: string;
}

/** A client wire format a provider may also speak natively (passthrough). */
export type WireFormat = "anthropic" | "openai-responses";

/** The client's own request, kept for a target that speaks its wire format: sent on as it came. */
export interface PassthroughRequest {
  format: WireFormat;
  /** The client's path (`/v1/messages`, `/v1/messages/count_tokens`), sent to the same path upstream. */
  path: string;
  /** The body text exactly as received. */
  body: string;
  /** The client's headers (a provider forwards only the ones it documents). */
  headers: Headers;
  /** The query string, e.g. `?beta=true`. */
  query: string;
  /**
   * For every target but `holder`: the body with the gateway's stored state written in (a Responses request
   * whose `previous_response_id` only `holder`, the provider that answered it, has upstream; see
   * src/responses/handlers.ts). Without it every target gets `body`.
   */
  standalone?: { holder: string | null; body: string } | undefined;
  /**
   * An output cap the gateway set (a budgeted key's `limits.defaultMaxTokens`, when the client set none): a
   * provider adds it in its format's field, so a passthrough's cost stays within what was reserved.
   */
  outputCap?: number | undefined;
}

/** The body a passthrough sends to `target`: the client's own, or the standalone one (see `standalone`). */
export function passthroughBody(req: PassthroughRequest, target: Target): string {
  return req.standalone && req.standalone.holder !== target.providerName ? req.standalone.body : req.body;
}

/** The parts of an upstream call that stay the same across targets and attempts. */
export type CallRequest = Pick<UpstreamCall, "op" | "body" | "stream" | "env" | "clientText"> & {
  /** Set when the client's format could pass through to a target that speaks it. */
  passthrough?: PassthroughRequest | undefined;
  /**
   * Set when the canonical `body` could not carry the request (items only a passthrough target can take): a
   * target that would translate it is skipped with this error, the call's answer when no target takes it.
   */
  untranslatable?: GatewayError | undefined;
  /** When the call must be over (epoch ms: its arrival + the route's `deadlineMs`); none when absent. */
  deadlineAt?: number | undefined;
  /** What routing rules and strategies read of the request (routing/rules.ts); absent for the gateway's own calls. */
  facts?: RequestFacts | undefined;
};

/**
 * What every provider implements. `send` returns the upstream answer in OpenAI wire format — a JSON body,
 * or SSE `chat.completion.chunk` events when streaming — so routes never see a provider's own format.
 * Non-2xx answers are returned as they are, for `readError` to turn into the gateway's error.
 * Native formats (Anthropic, Gemini, Bedrock, Workers AI) plug in by translating inside `send`.
 */
export interface ProviderAdapter {
  send(call: UpstreamCall): Promise<Response>;
  readError(res: Response): Promise<UpstreamErrorInfo>;
  /** The client format this provider speaks natively, if any; `passthrough` sends such a request as it came. */
  speaks?: WireFormat;
  /**
   * Sends the client's own request (model replaced) and returns the provider's answer untranslated; null when
   * this target cannot take it as it is (then `send` translates).
   */
  passthrough?(call: UpstreamCall, req: PassthroughRequest): Promise<Response | null>;
}

/** An upstream error as read from its body. */
export interface UpstreamErrorInfo {
  message: string;
  type?: string | undefined;
  code?: string | undefined;
  param?: string | null | undefined;
}
