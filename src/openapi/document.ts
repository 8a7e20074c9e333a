import * as z from "zod";
import { version } from "../../package.json";
import { messagesRequestSchema } from "../formats/anthropic";
import { chatRequestSchema, embeddingsRequestSchema } from "../formats/openai";
import { responsesRequestSchema } from "../formats/responses-schema";
import { formatOf } from "../inbound";
import { breakerForceSchema } from "../routes/admin-health";
import { createSchema as keyCreate, updateSchema as keyUpdate } from "../routes/admin-keys";
import { teamSchema } from "../routes/admin-teams";
import { mintSchema } from "../routes/tokens";
import {
  anthropicErrorSchema,
  componentSchemas,
  errorResponseName,
  errorResponses,
  HEADERS,
  openAIErrorSchema,
  queryParameters,
  ref,
  SECURITY_SCHEMES,
} from "./components";
import { type Auth, type Operation, operations } from "./operations";

type Json = Record<string, unknown>;

/** The schemas the document names: the request schemas the routes validate with, and the two error bodies. */
function schemas(): Record<string, Json> {
  return componentSchemas({
    ChatCompletionRequest: chatRequestSchema,
    EmbeddingsRequest: embeddingsRequestSchema,
    MessagesRequest: messagesRequestSchema,
    // count_tokens takes a messages request without `max_tokens` (inbound/count-tokens.ts supplies one).
    CountTokensRequest: messagesRequestSchema.partial({ max_tokens: true }),
    ResponsesRequest: responsesRequestSchema,
    KeyCreateRequest: keyCreate,
    KeyUpdateRequest: keyUpdate,
    TeamLimitsRequest: teamSchema,
    BreakerForceRequest: breakerForceSchema,
    BrowserTokenRequest: mintSchema,
    DashboardLogin: z.object({ token: z.string().describe("The admin token") }),
    KeyCreated: z.looseObject({
      id: z.string(),
      object: z.literal("key"),
      key: z.string().describe("The secret (`sk-sluice-…`), shown only in this answer"),
    }),
    OpenAIError: openAIErrorSchema,
    AnthropicError: anthropicErrorSchema,
  });
}

/** Request headers of proxied calls (`components.parameters`). */
const PARAMETERS: Record<string, Json> = {
  RequestId: {
    name: "x-request-id",
    description: "Your own request id (1–128 of `[A-Za-z0-9_.:-]`): echoed and stored with the call",
  },
  SluiceCache: {
    name: "x-sluice-cache",
    description: "`no-store`: go upstream, store nothing · `refresh`: go upstream, replace the entry",
    schema: { type: "string", enum: ["no-store", "refresh"] },
  },
  CacheControl: {
    name: "cache-control",
    description: "`no-cache` as `refresh`, `no-store` as `no-store`",
  },
  CacheTtl: {
    name: "x-sluice-cache-ttl",
    description: "Seconds the stored answer lives (≥ 60)",
    schema: { type: "integer", minimum: 60 },
  },
  CacheTags: { name: "x-sluice-cache-tags", description: "Comma-separated tags to purge the entry by" },
  Metadata: { name: "x-sluice-metadata", description: "A JSON object stored with the call's spend row" },
  AnthropicVersion: { name: "anthropic-version", description: "Anthropic API version (default 2023-06-01)" },
  AnthropicBeta: { name: "anthropic-beta", description: "Passed through to Anthropic targets" },
};

/** Parameter objects: every one a header, a string unless it says otherwise. */
function parameters(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [id, p] of Object.entries(PARAMETERS)) {
    out[id] = { in: "header", required: false, schema: { type: "string" }, ...p };
  }
  return out;
}

const param = (id: string): Json => ({ $ref: `#/components/parameters/${id}` });
const header = (id: string): Json => ({ $ref: `#/components/headers/${id}` });

const SECURITY: Record<Auth, Json[]> = {
  key: [{ sluiceKey: [] }, { sluiceKeyHeader: [] }],
  admin: [{ adminToken: [] }],
  // Signed out, GET /dashboard answers the sign-in form.
  dashboard: [{ dashboardSession: [] }, { adminToken: [] }, {}],
  none: [],
};

/** The success response of an operation. */
function success(op: Operation): Json {
  if (op.answer === "redirect") {
    return { description: "Redirect to /dashboard", headers: { location: { schema: { type: "string" } } } };
  }
  const json = { schema: op.returns ? ref(op.returns) : { type: "object" } };
  const content: Record<string, Json> = {
    html: { "text/html": { schema: { type: "string" } } },
    json: { "application/json": json },
    "json+sse": { "application/json": json, "text/event-stream": { schema: { type: "string" } } },
    "json+csv": { "application/json": json, "text/csv": { schema: { type: "string" } } },
  }[op.answer];
  const headers = op.proxied
    ? {
        "x-request-id": header("RequestId"),
        "x-sluice-request-id": header("SluiceRequestId"),
        "x-sluice-provider": header("Provider"),
        "x-sluice-model": header("Model"),
        "x-sluice-cache": header("Cache"),
        "x-sluice-retries": header("Retries"),
        "x-sluice-fallback-index": header("FallbackIndex"),
        "x-sluice-cost-usd": header("CostUsd"),
      }
    : undefined;
  return { description: op.summary, ...(headers ? { headers } : {}), content };
}

/** The error statuses an operation can answer: by its auth, body, query and path parameters, and its own. */
function errorStatuses(op: Operation, hasPathParams: boolean): number[] {
  const s = [500, ...(op.errors ?? []), ...(op.htmlErrors ?? [])];
  if (op.auth === "key") s.push(401, 403);
  if (op.auth === "admin") s.push(401);
  if (op.body || op.form) s.push(400, 413);
  if (op.query) s.push(400);
  if (hasPathParams) s.push(404);
  return [...new Set(s)].sort((a, b) => a - b);
}

/** One operation object. Errors are in the shape the app writes for its path (Anthropic's under /v1/messages). */
function operationObject(op: Operation): Json {
  const shape = formatOf(op.path)?.errorShape ?? "openai";
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const params: Json[] = [
    ...names.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
    ...(op.query ? queryParameters(op.query) : []),
    ...(op.proxied
      ? ["RequestId", "SluiceCache", "CacheControl", "CacheTtl", "CacheTags", "Metadata"]
      : []
    ).map(param),
    ...(shape === "anthropic" ? [param("AnthropicVersion"), param("AnthropicBeta")] : []),
  ];
  const responses: Json = { [op.status ?? 200]: success(op) };
  for (const status of errorStatuses(op, names.length > 0)) {
    responses[status] = op.htmlErrors?.includes(status)
      ? {
          description: "An HTML page saying what went wrong",
          content: { "text/html": { schema: { type: "string" } } },
        }
      : { $ref: `#/components/responses/${errorResponseName(shape, status)}` };
  }
  const body = op.body ?? op.form;
  return {
    operationId: `${op.method}${op.path.replace(/[{}]/g, "").replace(/[^a-zA-Z0-9]+(.)?/g, (_, c = "") => c.toUpperCase())}`,
    summary: op.summary,
    tags: [op.tag],
    security: SECURITY[op.auth],
    ...(params.length ? { parameters: params } : {}),
    ...(body
      ? {
          requestBody: {
            required: true,
            content: {
              [op.body ? "application/json" : "application/x-www-form-urlencoded"]: { schema: ref(body) },
            },
          },
        }
      : {}),
    responses,
  };
}

/**
 * Builds the OpenAPI 3.1 document of the HTTP surface: every operation of operations.ts, its request schemas
 * converted from the zod schemas the routes validate with. Needs no bindings (tests build it in Node too).
 */
export function buildDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations()) paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) };
  return {
    openapi: "3.1.0",
    info: {
      title: "Sluice",
      version,
      description:
        "An AI gateway on Cloudflare Workers: OpenAI- and Anthropic-compatible endpoints, keys, limits, " +
        "budgets, fallbacks, a response cache and spend records. Errors are JSON in OpenAI's shape " +
        "(`{error: {message, type, code, param}}`), in Anthropic's on /v1/messages*.",
    },
    tags: [
      { name: "openai", description: "OpenAI wire format" },
      {
        name: "anthropic",
        description: "Anthropic wire format; every answer, errors included, Anthropic-shaped",
      },
      { name: "responses", description: "OpenAI Responses API, with stored responses" },
      { name: "keys", description: "Browser tokens" },
      { name: "spend", description: "Recorded spend" },
      { name: "admin", description: "Keys, teams and cache, with the admin token" },
      { name: "dashboard", description: "The spend dashboard (HTML)" },
      { name: "meta", description: "Health and this document" },
    ],
    paths,
    components: {
      schemas: schemas(),
      parameters: parameters(),
      headers: HEADERS,
      responses: errorResponses(),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

let text: string | undefined;

/** The document as JSON text: built on first use, then kept for the isolate's life. */
export function openApiJson(): string {
  text ??= JSON.stringify(buildDocument());
  return text;
}
