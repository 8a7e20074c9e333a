import * as z from "zod";
import { PERIODS } from "../dashboard/data";
import { statsQuery as cacheStatsQuery, purgeQuery } from "../routes/admin-cache-query";
import { querySchema as spendQuery } from "../routes/spend";

/** Who may call an operation: a Sluice key (or browser token), the admin token, the dashboard's, no one in particular. */
export type Auth = "key" | "admin" | "dashboard" | "none";

/** What a successful answer carries. */
export type Answer = "json" | "json+sse" | "json+csv" | "html" | "redirect";

/** One operation of the HTTP surface, as the document describes it. */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI path template (`/admin/keys/{id}`). */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  /** `components.schemas` name of the JSON body, or (`form`) of the form body. */
  body?: string;
  form?: string;
  query?: z.ZodType;
  answer: Answer;
  /** The success status (200 when omitted). */
  status?: number;
  /** `components.schemas` name of the answer, when it has one; else a loose object. */
  returns?: string;
  /** A proxied call: the gateway's request headers (cache, metadata) and response headers apply. */
  proxied?: boolean;
  /** Error statuses beyond those the auth, body, query and path parameters imply. */
  errors?: number[];
  /** Statuses answered with an HTML page (the dashboard's own errors). */
  htmlErrors?: number[];
}

/** The query schemas of the handlers that check their query by hand, not with zod: described as they check it. */
function describedQueries() {
  const keyListQuery = z.object({
    limit: z.number().int().min(1).max(1000).default(100).describe("Page size"),
    after: z.string().optional().describe("The last key id of the previous page"),
  });
  const retrieveQuery = z.object({
    stream: z
      .string()
      .optional()
      .describe("`true` is refused (400): stored responses are not replayed as streams"),
  });
  const inputItemsQuery = z.object({
    order: z.enum(["asc", "desc"]).default("desc"),
    limit: z.number().int().min(1).max(100).default(20),
    after: z.string().optional().describe("An item id: the page starts after it"),
  });
  const dashboardQuery = z.object({
    period: z.enum(Object.keys(PERIODS) as [keyof typeof PERIODS]).default("30d"),
    key: z.string().max(200).optional(),
    team: z.string().max(200).optional(),
    model: z.string().max(200).optional(),
    provider: z.string().max(200).optional(),
  });
  return { keyListQuery, retrieveQuery, inputItemsQuery, dashboardQuery };
}

const PROXY_ERRORS = [403, 404, 429, 502, 503, 504];

/** Every operation the app mounts (src/app.ts, src/routes/*); test/openapi checks none is missing. */
export function operations(): Operation[] {
  const { keyListQuery, retrieveQuery, inputItemsQuery, dashboardQuery } = describedQueries();
  return [
    {
      method: "get",
      path: "/healthz",
      summary: "Health: env and config valid",
      tag: "meta",
      auth: "none",
      answer: "json",
    },
    {
      method: "get",
      path: "/openapi.json",
      summary: "This OpenAPI 3.1 document",
      tag: "meta",
      auth: "none",
      answer: "json",
    },
    {
      method: "post",
      path: "/v1/chat/completions",
      summary: "OpenAI chat completion (SSE when `stream` is true)",
      tag: "openai",
      auth: "key",
      body: "ChatCompletionRequest",
      answer: "json+sse",
      proxied: true,
      errors: PROXY_ERRORS,
    },
    {
      method: "post",
      path: "/v1/embeddings",
      summary: "OpenAI embeddings",
      tag: "openai",
      auth: "key",
      body: "EmbeddingsRequest",
      answer: "json",
      proxied: true,
      errors: PROXY_ERRORS,
    },
    {
      method: "get",
      path: "/v1/models",
      summary: "The models this key may use",
      tag: "openai",
      auth: "key",
      answer: "json",
    },
    {
      method: "post",
      path: "/v1/messages",
      summary: "Anthropic Messages, routed to any provider (SSE when `stream` is true)",
      tag: "anthropic",
      auth: "key",
      body: "MessagesRequest",
      answer: "json+sse",
      proxied: true,
      errors: PROXY_ERRORS,
    },
    {
      method: "post",
      path: "/v1/messages/count_tokens",
      summary: "Anthropic token count: the target's, else the gateway's estimate (`x-sluice-token-count`)",
      tag: "anthropic",
      auth: "key",
      body: "CountTokensRequest",
      answer: "json",
      errors: [403, 404, 502],
    },
    {
      method: "post",
      path: "/v1/responses",
      summary: "OpenAI Responses, routed to any provider (SSE when `stream` is true)",
      tag: "responses",
      auth: "key",
      body: "ResponsesRequest",
      answer: "json+sse",
      proxied: true,
      errors: PROXY_ERRORS,
    },
    {
      method: "get",
      path: "/v1/responses/{id}",
      summary: "A stored response (this key's)",
      tag: "responses",
      auth: "key",
      query: retrieveQuery,
      answer: "json",
    },
    {
      method: "delete",
      path: "/v1/responses/{id}",
      summary: "Delete a stored response",
      tag: "responses",
      auth: "key",
      answer: "json",
    },
    {
      method: "get",
      path: "/v1/responses/{id}/input_items",
      summary: "The input items a stored response answered (cursor page)",
      tag: "responses",
      auth: "key",
      query: inputItemsQuery,
      answer: "json",
    },
    {
      method: "post",
      path: "/v1/tokens",
      summary: "Mint a short-lived browser token (a browser-enabled key only)",
      tag: "keys",
      auth: "key",
      body: "BrowserTokenRequest",
      answer: "json",
      status: 201,
    },
    {
      method: "get",
      path: "/v1/spend",
      summary: "This key's own spend (JSON or CSV)",
      tag: "spend",
      auth: "key",
      query: spendQuery,
      answer: "json+csv",
    },
    {
      method: "post",
      path: "/admin/keys",
      summary: "Create a key (the secret `key` is shown only here)",
      tag: "admin",
      auth: "admin",
      body: "KeyCreateRequest",
      answer: "json",
      status: 201,
      returns: "KeyCreated",
    },
    {
      method: "get",
      path: "/admin/keys",
      summary: "List keys",
      tag: "admin",
      auth: "admin",
      query: keyListQuery,
      answer: "json",
    },
    {
      method: "get",
      path: "/admin/keys/{id}",
      summary: "A key's settings, limiter usage and spend so far",
      tag: "admin",
      auth: "admin",
      answer: "json",
    },
    {
      method: "patch",
      path: "/admin/keys/{id}",
      summary: "Update a key (null clears a setting)",
      tag: "admin",
      auth: "admin",
      body: "KeyUpdateRequest",
      answer: "json",
    },
    {
      method: "delete",
      path: "/admin/keys/{id}",
      summary: "Revoke a key",
      tag: "admin",
      auth: "admin",
      answer: "json",
    },
    {
      method: "post",
      path: "/admin/keys/{id}/rotate",
      summary: "Rotate a key's secret (shown only here)",
      tag: "admin",
      auth: "admin",
      answer: "json",
      returns: "KeyCreated",
      errors: [400],
    },
    {
      method: "get",
      path: "/admin/teams",
      summary: "List team limits",
      tag: "admin",
      auth: "admin",
      answer: "json",
    },
    {
      method: "put",
      path: "/admin/teams/{name}",
      summary: "Set a team's limits (they cap all its keys together)",
      tag: "admin",
      auth: "admin",
      body: "TeamLimitsRequest",
      answer: "json",
    },
    {
      method: "get",
      path: "/admin/teams/{name}",
      summary: "A team's limits",
      tag: "admin",
      auth: "admin",
      answer: "json",
    },
    {
      method: "delete",
      path: "/admin/teams/{name}",
      summary: "Remove a team's limits",
      tag: "admin",
      auth: "admin",
      answer: "json",
    },
    {
      method: "delete",
      path: "/admin/cache",
      summary: "Purge cached answers by scope, alias and tag (none: everything)",
      tag: "admin",
      auth: "admin",
      query: purgeQuery,
      answer: "json",
    },
    {
      method: "get",
      path: "/admin/cache",
      summary: "Cache stats per alias",
      tag: "admin",
      auth: "admin",
      query: cacheStatsQuery,
      answer: "json",
    },
    {
      method: "get",
      path: "/admin/health",
      summary: "Every target's circuit breaker (state, failures, opened at, forced) and recent figures",
      tag: "admin",
      auth: "admin",
      answer: "json",
    },
    {
      method: "put",
      path: "/admin/breakers/{provider}/{model}",
      summary: "Open or close a target's circuit breaker by hand (the model may hold `/`)",
      tag: "admin",
      auth: "admin",
      body: "BreakerForceRequest",
      answer: "json",
    },
    {
      method: "get",
      path: "/admin/spend",
      summary: "Every key's spend, grouped and filtered (JSON or CSV)",
      tag: "spend",
      auth: "admin",
      query: spendQuery,
      answer: "json+csv",
    },
    {
      method: "get",
      path: "/dashboard",
      summary: "The spend dashboard (signed out: the sign-in form)",
      tag: "dashboard",
      auth: "dashboard",
      query: dashboardQuery,
      answer: "html",
      htmlErrors: [400],
    },
    {
      method: "post",
      path: "/dashboard/login",
      summary: "Sign in with the admin token (sets the session cookie)",
      tag: "dashboard",
      auth: "none",
      form: "DashboardLogin",
      answer: "redirect",
      status: 303,
      htmlErrors: [401, 403],
    },
    {
      method: "post",
      path: "/dashboard/logout",
      summary: "Sign out (clears the session cookie)",
      tag: "dashboard",
      auth: "none",
      answer: "redirect",
      status: 303,
      htmlErrors: [403],
    },
  ];
}
