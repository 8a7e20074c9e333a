import type { Target } from "../config/resolve";

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
}

/** The parts of an upstream call that stay the same across targets and attempts. */
export type CallRequest = Pick<UpstreamCall, "op" | "body" | "stream" | "env">;

/**
 * What every provider implements. `send` returns the upstream answer in OpenAI wire format — a JSON body,
 * or SSE `chat.completion.chunk` events when streaming — so routes never see a provider's own format.
 * Non-2xx answers are returned as they are, for `readError` to turn into the gateway's error.
 * Native formats (Anthropic, Gemini, Bedrock, Workers AI) plug in by translating inside `send`.
 */
export interface ProviderAdapter {
  send(call: UpstreamCall): Promise<Response>;
  readError(res: Response): Promise<UpstreamErrorInfo>;
}

/** An upstream error as read from its body. */
export interface UpstreamErrorInfo {
  message: string;
  type?: string | undefined;
  code?: string | undefined;
  param?: string | null | undefined;
}
