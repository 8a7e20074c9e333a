import * as z from "zod";
import { ERRORS, type ErrorBody, type ErrorShape } from "../http/errors";

type Json = Record<string, unknown>;

/** How every zod schema becomes JSON Schema: what a client sends (`io: "input"`), in OpenAPI 3.1's dialect. */
const OPTIONS = { target: "draft-2020-12", io: "input", unrepresentable: "any" } as const;

/** A `$ref` to a schema of `components.schemas`. */
export const ref = (id: string): Json => ({ $ref: `#/components/schemas/${id}` });

/**
 * The named zod schemas as `components.schemas`: one registry, so a schema used inside another is a `$ref`
 * to it. `$schema` and the fragment-only `$id` zod writes on each are dropped (OpenAPI 3.1 supplies the dialect).
 */
export function componentSchemas(named: Record<string, z.ZodType>): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { ...OPTIONS, uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, Json> = {};
  for (const [id, { $schema: _s, $id: _i, ...schema }] of Object.entries(schemas)) out[id] = schema;
  return out;
}

/** A zod object of query parameters (or a transform over one) as OpenAPI `in: query` parameters. */
export function queryParameters(schema: z.ZodType): Json[] {
  const json = z.toJSONSchema(schema, OPTIONS) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: "query",
      required: json.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** The OpenAI error body (`ErrorBody`), which every route but `/v1/messages*` answers with. */
export const openAIErrorSchema = z.strictObject({
  error: z.strictObject({
    message: z.string(),
    type: z.string().describe("`invalid_request_error`, `authentication_error`, `rate_limit_error`, …"),
    code: z.string().describe("Sluice's error code (listed per status), or an upstream's own"),
    param: z.string().nullable().describe("The request parameter at fault, as `messages[0].content`"),
  }),
}) satisfies z.ZodType<ErrorBody>;

/** The Anthropic error body, on every `/v1/messages*` answer. */
export const anthropicErrorSchema = z.strictObject({
  type: z.literal("error"),
  error: z.strictObject({
    type: z.string().describe("`invalid_request_error`, `authentication_error`, `overloaded_error`, …"),
    message: z.string(),
  }),
});

/** Sluice's error codes with a status, from the one list in http/errors.ts. */
function codesOf(status: number): string[] {
  return Object.entries(ERRORS)
    .filter(([, e]) => e.status === status)
    .map(([code]) => code);
}

const STATUS_TEXT: Record<number, string> = {
  400: "Invalid request",
  401: "Missing or invalid credentials",
  403: "Not allowed for this key",
  404: "Not found",
  413: "Request body too large",
  429: "Rate limit or budget exceeded",
  500: "Gateway error (a bad config or an unexpected failure)",
  502: "Upstream failure after retries and fallbacks",
  503: "A limiter or upstream unavailable",
  504: "Upstream timeout",
};

/** The statuses documented as error responses, each with its own `components.responses` entry per shape. */
export const ERROR_STATUSES = Object.keys(STATUS_TEXT).map(Number);

/** The name of the error response for a status in a shape: `OpenAIError429`, `AnthropicError400`. */
export const errorResponseName = (shape: ErrorShape, status: number) =>
  `${shape === "anthropic" ? "Anthropic" : "OpenAI"}Error${status}`;

/** Response headers the document names. */
export const HEADERS: Record<string, Json> = {
  RetryAfter: { description: "Seconds to wait before retrying", schema: { type: "integer" } },
  RequestId: { description: "Your `x-request-id` echoed, else the gateway's id", schema: { type: "string" } },
  SluiceRequestId: { description: "The gateway's id of this request (`req_…`)", schema: { type: "string" } },
  Provider: { description: "The provider that served the call", schema: { type: "string" } },
  Model: { description: "The upstream model that served the call", schema: { type: "string" } },
  Cache: {
    description: "What the response cache did",
    schema: { type: "string", enum: ["MISS", "HIT", "SEMANTIC", "BYPASS"] },
  },
  Retries: { description: "Retries made before this answer", schema: { type: "integer" } },
  FallbackIndex: {
    description: "The serving target's position in the route, nested groups joined by dots (`0.2`)",
    schema: { type: "string" },
  },
  CostUsd: { description: "The call's cost in USD (non-streaming answers)", schema: { type: "string" } },
};

/** Every error response: one per documented status and shape, its codes listed, `Retry-After` on a 429. */
export function errorResponses(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const shape of ["openai", "anthropic"] as const) {
    for (const status of ERROR_STATUSES) {
      const codes = codesOf(status);
      const listed = codes.length ? ` (\`${codes.join("`, `")}\`)` : "";
      out[errorResponseName(shape, status)] = {
        description: `${STATUS_TEXT[status]}${listed}. Upstream errors keep their own status and message.`,
        ...(status === 429
          ? { headers: { "retry-after": { $ref: "#/components/headers/RetryAfter" } } }
          : {}),
        content: {
          "application/json": { schema: ref(shape === "anthropic" ? "AnthropicError" : "OpenAIError") },
        },
      };
    }
  }
  return out;
}

/** How callers authenticate: a Sluice key (or browser token), the admin token, the dashboard's session. */
export const SECURITY_SCHEMES: Record<string, Json> = {
  sluiceKey: {
    type: "http",
    scheme: "bearer",
    description:
      "`Authorization: Bearer <Sluice key>` (`sk-sluice-…`), or a browser token from POST /v1/tokens",
  },
  sluiceKeyHeader: {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "The Sluice key in `x-api-key`, as Anthropic clients send it",
  },
  adminToken: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <ADMIN_TOKEN>`" },
  dashboardSession: {
    type: "apiKey",
    in: "cookie",
    name: "sluice_session",
    description: "The session cookie POST /dashboard/login sets",
  },
};
