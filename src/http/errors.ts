import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * Every error Sluice can answer with, its HTTP status and its OpenAI error `type`.
 * One list: a new failure kind is added here and nowhere else.
 */
export const ERRORS = {
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  missing_api_key: { status: 401, type: "authentication_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  key_expired: { status: 401, type: "authentication_error" },
  invalid_admin_token: { status: 401, type: "authentication_error" },
  model_not_allowed: { status: 403, type: "permission_error" },
  model_unpriced: { status: 403, type: "permission_error" },
  origin_not_allowed: { status: 403, type: "permission_error" },
  token_not_allowed: { status: 403, type: "permission_error" },
  model_not_found: { status: 404, type: "not_found_error" },
  not_found: { status: 404, type: "not_found_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "invalid_request_error" },
  unsupported_media_type: { status: 415, type: "invalid_request_error" },
  unsupported_operation: { status: 400, type: "invalid_request_error" },
  unsupported_parameter: { status: 400, type: "invalid_request_error" },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  tokens_per_minute: { status: 429, type: "rate_limit_error" },
  concurrency_limit: { status: 429, type: "rate_limit_error" },
  budget_exceeded: { status: 429, type: "rate_limit_error" },
  upstream_error: { status: 502, type: "upstream_error" },
  upstream_unreachable: { status: 502, type: "upstream_error" },
  /** A 2xx answer that cannot be read (not JSON, not the expected shape, a stream without events). */
  upstream_invalid_response: { status: 502, type: "upstream_error" },
  /** In streams only: the upstream stream broke off, or ended before its end marker, after the first byte. */
  upstream_stream_cut: { status: 502, type: "upstream_error" },
  upstream_timeout: { status: 504, type: "upstream_error" },
  /** Every target of the route is skipped: their circuit breakers are open. */
  upstream_unavailable: { status: 503, type: "upstream_error" },
  limiter_unavailable: { status: 503, type: "server_error" },
  config_invalid: { status: 500, type: "server_error" },
  internal_error: { status: 500, type: "server_error" },
} as const satisfies Record<string, { status: ContentfulStatusCode; type: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The one error body shape (OpenAI's). */
export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

/**
 * The one error class. Thrown anywhere in the request path; `onError` turns it into a response.
 * `status`, `type` and `wireCode` override the code's defaults, for upstream errors that keep the upstream's own.
 *
 * @example throw new GatewayError("model_not_found", "Unknown model 'gpt-9'", { param: "model" })
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly type: string;
  /** The `code` written on the wire: ours, or an upstream's own (`context_length_exceeded`). */
  readonly wireCode: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: {
      param?: string | null;
      status?: number;
      type?: string;
      wireCode?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    this.status = (opts.status ?? ERRORS[code].status) as ContentfulStatusCode;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
    this.type = opts.type ?? ERRORS[code].type;
    this.wireCode = opts.wireCode ?? code;
  }

  /** The OpenAI-shaped body. */
  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, code: this.wireCode, param: this.param } };
  }
}

/** The error body shapes: OpenAI's, and Anthropic's on `/v1/messages`. */
export type ErrorShape = "openai" | "anthropic";

/** Anthropic's error `type` for a status, as its API and SDK name them. */
function anthropicType(status: number): string {
  const types: Record<number, string> = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
  };
  return types[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

/**
 * Builds the JSON error response for any thrown value; unknown errors become a 500 without details.
 * `shape` picks the wire format: OpenAI's everywhere, Anthropic's (`{"type":"error","error":{type,message}}`)
 * on the Anthropic-format endpoint.
 */
export function errorResponse(
  err: unknown,
  extraHeaders: Record<string, string> = {},
  shape: ErrorShape = "openai",
): Response {
  const e = err instanceof GatewayError ? err : new GatewayError("internal_error", "Internal error");
  const headers = new Headers({ "content-type": "application/json", ...e.headers, ...extraHeaders });
  const body =
    shape === "anthropic"
      ? { type: "error", error: { type: anthropicType(e.status), message: e.message } }
      : e.body();
  return new Response(JSON.stringify(body), { status: e.status, headers });
}
