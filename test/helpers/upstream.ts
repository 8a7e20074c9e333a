import { vi } from "vitest";
import { BadRequest, checkMessage, checkResponseFormat, checkTool } from "./openai-checks";

/**
 * Strict fakes of the OpenAI wire format (and Azure OpenAI's URL/header form), installed on
 * `globalThis.fetch` and dispatched by origin, so several upstreams can coexist in one test.
 *
 * They answer the way the real APIs do (checked against OpenAI's API reference, the `openai` package's
 * types and Azure OpenAI's REST reference): a missing or wrong key is a 401, a malformed body a 400 naming
 * the parameter, `stream_options` without `stream: true` a 400; unknown top-level parameters are accepted,
 * but an unknown field inside a message, a content part or a tool is a 400 "Unknown parameter" (Sluice's
 * internal `cache_control` must never reach OpenAI); content parts are checked per role (system, developer
 * and tool messages take text parts only); a strict `json_schema` response format must be a strict schema.
 * Every request is recorded, every Response is built lazily per call.
 *
 * @example
 * const net = installUpstreams();
 * const openai = net.add("https://api.openai.com", { apiKey: "sk-test" });
 * openai.failNext(1, { status: 503 });
 * // … call the gateway …
 * expect(openai.requests[0]?.body.model).toBe("gpt-4o-mini");
 */

export type Json = Record<string, unknown>;

export interface FakeOptions {
  /** `openai` (Bearer auth, `{basePath}/chat/completions`) or `azure` (`api-key`, deployment URLs, `api-version`). */
  kind?: "openai" | "azure";
  /** The key the fake accepts; undefined: no auth required (Ollama, vLLM). */
  apiKey?: string;
  /** OpenAI-style path prefix before `/chat/completions` and `/embeddings`; default `/v1`. */
  basePath?: string;
  /**
   * `include_usage`: usage only in a final `choices: []` chunk when `stream_options.include_usage` is true.
   * `always` (Mistral-style): `stream_options` is rejected with a 422 "extra inputs are not permitted", and
   * usage is always on the last chunk.
   */
  streamUsage?: "include_usage" | "always";
  /** Azure: the deployments that exist, deployment name → underlying model. */
  deployments?: Record<string, string>;
  /** Azure: the accepted `api-version` values; default any non-empty value. */
  apiVersions?: string[];
  /** Headers every request must carry with exactly this value (e.g. OpenRouter's `HTTP-Referer`). */
  requiredHeaders?: Record<string, string>;
  /** Streams: re-cut the SSE bytes into pieces of this many bytes (events and UTF-8 characters split). */
  chunkBytes?: number;
  /**
   * The models that reason: `reasoning_effort` for any other model is a 400 "Unsupported parameter", as
   * OpenAI answers it for gpt-4.1. Unset: every model takes it.
   */
  reasoningModels?: RegExp;
}

/** A recorded request, as the fake received it. */
export interface RecordedRequest {
  url: URL;
  method: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The parsed JSON body ({} when it was not JSON; see `raw`). */
  body: Json;
  raw: string;
  signal: AbortSignal;
}

export interface ToolCallScript {
  id: string;
  name: string;
  arguments: string;
}

/** What the fake answers with on success. */
export interface Reply {
  /** Assistant text; streamed a word at a time. Default: `Hello from <host>.` */
  content?: string | null;
  toolCalls?: ToolCallScript[];
  finishReason?: "stop" | "length" | "tool_calls" | "content_filter";
  /** Token counts; default derived from the text (about four characters a token). */
  usage?: { prompt_tokens: number; completion_tokens: number };
}

export interface FailureScript {
  status: number;
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
  /** Sent as the `Retry-After` header. */
  retryAfter?: string;
}

/** One streamed response, observable from the test. */
export interface StreamTrace {
  request: RecordedRequest;
  /** SSE events enqueued so far, as framed on the wire (pieces of them with `chunkBytes`). */
  sent: string[];
  /** The last event (`[DONE]`) was enqueued and the stream closed. */
  done: boolean;
  /** The reader of the stream cancelled it. */
  cancelled: boolean;
  cancelReason: unknown;
  /** The request's signal aborted while the stream was open. */
  aborted: boolean;
}

/**
 * A failure of the answer itself, for the chaos suite (statuses are `failNext`): `hang` never sends headers;
 * `html200` is a 200 HTML page; `malformedJson` a 200 whose JSON breaks off (a stream: a first event that is not
 * JSON); the stream faults send the role chunk (and, `…AfterFirstToken`, the first content chunk), then either
 * close without [DONE] (`cut…`) or wait until the request is aborted (`stall…`: a slow first token, a drip).
 */
export type Fault =
  | "hang"
  | "html200"
  | "malformedJson"
  | "cutBeforeFirstToken"
  | "cutAfterFirstToken"
  | "stallBeforeFirstToken"
  | "stallAfterFirstToken";

export interface Hold {
  /** Lets the held stream continue. */
  release(): void;
  /** Settles once the stream has sent its first `afterEvents` events and is waiting. */
  reached: Promise<void>;
}

const OPENAI_ROLES = ["system", "assistant", "user", "function", "tool", "developer"];
const PARSE_ERROR =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";

class Reject extends Error {
  constructor(readonly response: () => Response) {
    super("rejected");
  }
}

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export function openAIError(
  status: number,
  message: string,
  opts: {
    type?: string | null;
    param?: string | null;
    code?: string | null;
    headers?: Record<string, string>;
  } = {},
): Response {
  const type =
    opts.type !== undefined
      ? opts.type
      : status === 401
        ? "invalid_request_error"
        : status === 429
          ? "requests"
          : status >= 500
            ? "server_error"
            : "invalid_request_error";
  return new Response(
    JSON.stringify({ error: { message, type, param: opts.param ?? null, code: opts.code ?? null } }),
    { status, headers: { "content-type": "application/json", ...opts.headers } },
  );
}

function fail(status: number, message: string, opts: Parameters<typeof openAIError>[2] = {}): never {
  throw new Reject(() => openAIError(status, message, opts));
}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  readonly streams: StreamTrace[] = [];
  /** Delay before the response headers, in ms, for every call (honours the request's abort signal). */
  delayMs = 0;
  /** While set, every call waits for it before answering: a gate the test opens, not a delay. */
  gate: Promise<void> | null = null;
  private replies: (Reply | ((body: Json, req: RecordedRequest) => Reply))[] = [];
  private defaultReply: Reply | ((body: Json, req: RecordedRequest) => Reply) = {};
  private failures: (FailureScript | "network")[] = [];
  private holds: { after: number; gate: Promise<void>; reached: () => void }[] = [];
  private faults: Fault[] = [];
  readonly kind: "openai" | "azure";

  constructor(
    readonly origin: string,
    readonly opts: FakeOptions = {},
  ) {
    this.kind = opts.kind ?? "openai";
  }

  /** Requests for chat completions only. */
  get chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.url.pathname.endsWith("/chat/completions"));
  }

  /** The answer for every later call (a function gets the request body). */
  reply(r: Reply | ((body: Json, req: RecordedRequest) => Reply)): this {
    this.defaultReply = r;
    return this;
  }

  /** The answer for the next call only (queued; falls back to `reply`). */
  replyOnce(r: Reply | ((body: Json, req: RecordedRequest) => Reply)): this {
    this.replies.push(r);
    return this;
  }

  /** The next `n` calls fail with this status and OpenAI error body, or reject as a network failure. */
  failNext(n: number, f: FailureScript | "network"): this {
    for (let i = 0; i < n; i++) this.failures.push(f);
    return this;
  }

  /** The next `n` calls fail with `fault` (after the request was read and checked, as a real upstream would). */
  faultNext(n: number, fault: Fault): this {
    for (let i = 0; i < n; i++) this.faults.push(fault);
    return this;
  }

  /** The next stream sends its first `afterEvents` events, then waits for `release()`. */
  holdNextStream(afterEvents: number): Hold {
    let release!: () => void;
    let reached!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const reachedP = new Promise<void>((r) => {
      reached = r;
    });
    this.holds.push({ after: afterEvents, gate, reached });
    return { release, reached: reachedP };
  }

  async handle(req: Request): Promise<Response> {
    const raw = await req.text();
    let body: Json = {};
    let parsed: unknown;
    let parseOk = true;
    try {
      parsed = JSON.parse(raw);
      if (isObject(parsed)) body = parsed;
    } catch {
      parseOk = false;
    }
    const rec: RecordedRequest = {
      url: new URL(req.url),
      method: req.method,
      headers: Object.fromEntries([...req.headers].map(([k, v]) => [k.toLowerCase(), v])),
      body,
      raw,
      signal: req.signal,
    };
    this.requests.push(rec);

    await this.wait(this.delayMs, req.signal);
    if (this.gate) await this.gate;
    const failure = this.failures.shift();
    const fault = failure ? undefined : this.faults.shift();
    if (failure === "network") throw new TypeError("fetch failed: connection refused (fake)");

    try {
      // Azure checks the key inside `route`, before it looks the deployment up.
      const op = this.route(rec);
      if (this.kind === "openai") this.checkAuth(rec);
      if (
        !parseOk ||
        !(rec.headers["content-type"] ?? "").includes("application/json") ||
        !isObject(parsed)
      ) {
        fail(400, PARSE_ERROR);
      }
      if (op.kind === "chat") this.validateChat(body);
      else this.validateEmbeddings(body);
      const reasoning = this.opts.reasoningModels;
      if (
        op.kind === "chat" &&
        reasoning &&
        body.reasoning_effort != null &&
        !reasoning.test(op.model ?? String(body.model))
      ) {
        fail(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", {
          param: "reasoning_effort",
          code: "unsupported_parameter",
        });
      }
      if (failure) {
        const headers: Record<string, string> = failure.retryAfter
          ? { "retry-after": failure.retryAfter }
          : {};
        return openAIError(failure.status, failure.message ?? `Scripted failure ${failure.status}.`, {
          ...(failure.type !== undefined ? { type: failure.type } : {}),
          code: failure.code ?? null,
          param: failure.param ?? null,
          headers,
        });
      }
      const model = op.model ?? String(body.model);
      if (fault === "hang") await this.wait(Number.POSITIVE_INFINITY, req.signal);
      if (fault === "html200") {
        return new Response(
          "<!doctype html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
          {
            headers: { "content-type": "text/html" },
          },
        );
      }
      if (fault === "malformedJson" && body.stream !== true) {
        return new Response('{"id":"chatcmpl-fake","object":"chat.completion","choices":[{"index":0,', {
          headers: { "content-type": "application/json" },
        });
      }
      if (op.kind === "embeddings") return this.embeddings(body, model);
      const script = this.replies.shift() ?? this.defaultReply;
      const reply = typeof script === "function" ? script(body, rec) : script;
      return body.stream === true
        ? this.stream(rec, body, reply, model, fault)
        : this.completion(body, reply, model);
    } catch (e) {
      if (e instanceof Reject) return e.response();
      if (e instanceof BadRequest) return openAIError(400, e.message, { param: e.param, code: e.code });
      throw e;
    }
  }

  /** Which operation the URL names; an unknown path is a 404 as the real APIs answer it. */
  private route(rec: RecordedRequest): { kind: "chat" | "embeddings"; model?: string } {
    const path = rec.url.pathname;
    if (this.kind === "azure") {
      const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(path);
      if (!m || rec.method !== "POST") {
        throw new Reject(() => azureError(404, "404", "Resource not found"));
      }
      const version = rec.url.searchParams.get("api-version");
      if (!version) throw new Reject(() => azureError(404, "404", "Resource not found"));
      if (this.opts.apiVersions && !this.opts.apiVersions.includes(version)) {
        throw new Reject(() => azureError(400, "BadRequest", "API version not supported"));
      }
      this.checkAuth(rec);
      const deployment = decodeURIComponent(m[1] as string);
      const model = this.opts.deployments?.[deployment];
      if (this.opts.deployments && model === undefined) {
        throw new Reject(() =>
          azureError(
            404,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
          ),
        );
      }
      return { kind: m[2] === "embeddings" ? "embeddings" : "chat", model: model ?? deployment };
    }
    const base = (this.opts.basePath ?? "/v1").replace(/\/+$/, "");
    if (rec.method === "POST" && path === `${base}/chat/completions`) return { kind: "chat" };
    if (rec.method === "POST" && path === `${base}/embeddings`) return { kind: "embeddings" };
    fail(404, `Invalid URL (${rec.method} ${path})`);
  }

  private checkAuth(rec: RecordedRequest): void {
    for (const [h, v] of Object.entries(this.opts.requiredHeaders ?? {})) {
      if (rec.headers[h.toLowerCase()] !== v) fail(400, `Missing or wrong header '${h}'.`);
    }
    const key = this.opts.apiKey;
    if (key === undefined) return;
    if (this.kind === "azure") {
      if (rec.headers["api-key"] !== key) {
        throw new Reject(() =>
          azureError(
            401,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
          ),
        );
      }
      return;
    }
    const auth = rec.headers.authorization;
    if (!auth) {
      fail(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      );
    }
    const m = /^Bearer (.+)$/.exec(auth);
    if (m?.[1] !== key) {
      fail(401, `Incorrect API key provided: ${(m?.[1] ?? auth).slice(0, 8)}***.`, {
        code: "invalid_api_key",
      });
    }
  }

  private validateChat(body: Json): void {
    if (this.opts.streamUsage === "always" && "stream_options" in body) {
      throw new Reject(
        () =>
          new Response(
            JSON.stringify({
              object: "error",
              message: {
                detail: [
                  {
                    type: "extra_forbidden",
                    loc: ["body", "stream_options"],
                    msg: "Extra inputs are not permitted",
                    input: body.stream_options,
                  },
                ],
              },
              type: "invalid_request_error",
              param: null,
              code: null,
            }),
            { status: 422, headers: { "content-type": "application/json" } },
          ),
      );
    }
    if (this.kind !== "azure" && (typeof body.model !== "string" || body.model === "")) {
      fail(400, "you must provide a model parameter");
    }
    const messages = body.messages;
    if (messages === undefined) {
      fail(400, "Missing required parameter: 'messages'.", {
        param: "messages",
        code: "missing_required_parameter",
      });
    }
    if (!Array.isArray(messages)) {
      fail(400, `Invalid type for 'messages': expected an array, but got ${typeName(messages)} instead.`, {
        param: "messages",
        code: "invalid_type",
      });
    }
    if (messages.length === 0) {
      fail(
        400,
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        { param: "messages", code: "empty_array" },
      );
    }
    /** Tool calls of the last assistant message still waiting for their tool messages. */
    let pending: { at: number; ids: Set<string> } | undefined;
    messages.forEach((m: unknown, i: number) => {
      if (!isObject(m)) {
        fail(400, `Invalid type for 'messages[${i}]': expected an object, but got ${typeName(m)} instead.`, {
          param: `messages[${i}]`,
          code: "invalid_type",
        });
      }
      const role = m.role;
      if (typeof role !== "string" || !OPENAI_ROLES.includes(role)) {
        if (role === undefined) {
          fail(400, `Missing required parameter: 'messages[${i}].role'.`, {
            param: `messages[${i}].role`,
            code: "missing_required_parameter",
          });
        }
        fail(
          400,
          `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
          { param: `messages[${i}].role`, code: "invalid_value" },
        );
      }
      if (role !== "tool" && pending && pending.ids.size > 0) {
        fail(
          400,
          `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending.ids].join(", ")}`,
          { param: `messages.[${pending.at}].role` },
        );
      }
      checkMessage(m, i);
      if (["system", "user", "developer", "tool"].includes(role) && !("content" in m)) {
        fail(400, `Missing required parameter: 'messages[${i}].content'.`, {
          param: `messages[${i}].content`,
          code: "missing_required_parameter",
        });
      }
      if (role === "assistant") {
        const calls = m.tool_calls;
        if (calls !== undefined && calls !== null) {
          if (!Array.isArray(calls) || calls.length === 0) {
            fail(400, `Invalid 'messages[${i}].tool_calls': empty array.`, {
              param: `messages[${i}].tool_calls`,
              code: "empty_array",
            });
          }
          const ids = new Set<string>();
          calls.forEach((c: unknown, j: number) => {
            const fn = isObject(c) ? c.function : undefined;
            if (!isObject(c) || typeof c.id !== "string" || c.type !== "function" || !isObject(fn)) {
              fail(400, `Invalid 'messages[${i}].tool_calls[${j}]'.`, {
                param: `messages[${i}].tool_calls[${j}]`,
              });
            }
            if (typeof fn.name !== "string" || typeof fn.arguments !== "string") {
              fail(400, `Missing required parameter: 'messages[${i}].tool_calls[${j}].function.arguments'.`, {
                param: `messages[${i}].tool_calls[${j}].function.arguments`,
                code: "missing_required_parameter",
              });
            }
            ids.add(c.id);
          });
          pending = { at: i, ids };
        } else if (m.content === undefined || m.content === null) {
          fail(400, `Invalid value for 'messages[${i}].content': expected a string, got null.`, {
            param: `messages[${i}].content`,
          });
        }
      } else if (role === "tool") {
        if (typeof m.tool_call_id !== "string") {
          fail(400, `Missing required parameter: 'messages[${i}].tool_call_id'.`, {
            param: `messages[${i}].tool_call_id`,
            code: "missing_required_parameter",
          });
        }
        if (!pending?.ids.has(m.tool_call_id)) {
          fail(
            400,
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            { param: `messages.[${i}].role` },
          );
        }
        pending.ids.delete(m.tool_call_id);
      } else {
        pending = undefined;
      }
    });
    if (pending && pending.ids.size > 0) {
      fail(
        400,
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending.ids].join(", ")}`,
        { param: `messages.[${pending.at}].role` },
      );
    }
    if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
      fail(400, `Invalid type for 'stream': expected a boolean, but got ${typeName(body.stream)} instead.`, {
        param: "stream",
        code: "invalid_type",
      });
    }
    if (body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
      fail(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", {
        param: "stream_options",
      });
    }
    if (body.tools !== undefined && body.tools !== null) {
      if (!Array.isArray(body.tools)) {
        fail(400, `Invalid type for 'tools': expected an array, but got ${typeName(body.tools)} instead.`, {
          param: "tools",
          code: "invalid_type",
        });
      }
      body.tools.forEach((t: unknown, i: number) => {
        if (!isObject(t) || !isObject(t.function) || typeof t.function.name !== "string") {
          fail(400, `Missing required parameter: 'tools[${i}].function'.`, {
            param: `tools[${i}].function`,
            code: "missing_required_parameter",
          });
        }
        checkTool(t, i);
      });
    }
    checkResponseFormat(body.response_format);
    if (body.tool_choice !== undefined && body.tool_choice !== null && !Array.isArray(body.tools)) {
      fail(
        400,
        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        {
          param: "tool_choice",
        },
      );
    }
  }

  private validateEmbeddings(body: Json): void {
    if (this.kind !== "azure" && (typeof body.model !== "string" || body.model === "")) {
      fail(400, "you must provide a model parameter");
    }
    const input = body.input;
    if (input === undefined || input === null) {
      fail(400, "Missing required parameter: 'input'.", {
        param: "input",
        code: "missing_required_parameter",
      });
    }
    const ok =
      (typeof input === "string" && input !== "") ||
      (Array.isArray(input) &&
        input.length > 0 &&
        input.every((x) => (typeof x === "string" && x !== "") || typeof x === "number" || Array.isArray(x)));
    if (!ok)
      fail(
        400,
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      );
  }

  private usageOf(body: Json, reply: Reply, completionText: string) {
    const u = reply.usage ?? {
      prompt_tokens: tokens(JSON.stringify(body.messages ?? body.input ?? "")),
      completion_tokens: tokens(completionText),
    };
    return {
      prompt_tokens: u.prompt_tokens,
      completion_tokens: u.completion_tokens,
      total_tokens: u.prompt_tokens + u.completion_tokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
  }

  private answer(reply: Reply) {
    const toolCalls = reply.toolCalls ?? [];
    const content =
      reply.content !== undefined
        ? reply.content
        : toolCalls.length
          ? null
          : `Hello from ${new URL(this.origin).host}.`;
    const finish = reply.finishReason ?? (toolCalls.length ? "tool_calls" : "stop");
    const text = (content ?? "") + toolCalls.map((t) => t.name + t.arguments).join("");
    return { toolCalls, content, finish, text };
  }

  private completion(body: Json, reply: Reply, model: string): Response {
    const a = this.answer(reply);
    const message: Json = { role: "assistant", content: a.content, refusal: null, annotations: [] };
    if (a.toolCalls.length) {
      message.tool_calls = a.toolCalls.map((t) => ({
        id: t.id,
        type: "function",
        function: { name: t.name, arguments: t.arguments },
      }));
    }
    const choice: Json = { index: 0, message, logprobs: null, finish_reason: a.finish };
    if (this.kind === "azure") choice.content_filter_results = {};
    const out: Json = {
      id: `chatcmpl-fake${this.requests.length}`,
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [choice],
      usage: this.usageOf(body, reply, a.text),
      system_fingerprint: "fp_fake",
      service_tier: "default",
    };
    if (this.kind === "azure") out.prompt_filter_results = [{ prompt_index: 0, content_filter_results: {} }];
    return new Response(JSON.stringify(out), {
      headers: { "content-type": "application/json", "x-request-id": `req_fake${this.requests.length}` },
    });
  }

  /** OpenAI's SSE: role delta, content deltas, tool-call deltas in pieces, finish, [usage], [DONE]. */
  private stream(rec: RecordedRequest, body: Json, reply: Reply, model: string, fault?: Fault): Response {
    const a = this.answer(reply);
    const opts = body.stream_options;
    const includeUsage = isObject(opts) && opts.include_usage === true;
    const always = this.opts.streamUsage === "always";
    const usage = this.usageOf(body, reply, a.text);
    const id = `chatcmpl-fake${this.requests.length}`;
    const chunk = (choices: Json[], extra: Json = {}): string =>
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model,
        system_fingerprint: "fp_fake",
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      })}\n\n`;
    const delta = (d: Json, finish: string | null = null): Json[] => [
      { index: 0, delta: d, logprobs: null, finish_reason: finish },
    ];

    const events: string[] = [];
    if (this.kind === "azure") {
      // Azure's first event: prompt filter results, with empty choices and blank id/model.
      events.push(
        `data: ${JSON.stringify({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] })}\n\n`,
      );
    }
    events.push(chunk(delta({ role: "assistant", content: a.toolCalls.length ? null : "", refusal: null })));
    if (a.content) for (const w of a.content.split(/(?<= )/)) events.push(chunk(delta({ content: w })));
    a.toolCalls.forEach((t, index) => {
      events.push(
        chunk(
          delta({
            tool_calls: [{ index, id: t.id, type: "function", function: { name: t.name, arguments: "" } }],
          }),
        ),
      );
      for (const piece of t.arguments.match(/[\s\S]{1,6}/g) ?? []) {
        events.push(chunk(delta({ tool_calls: [{ index, function: { arguments: piece } }] })));
      }
    });
    events.push(chunk(delta({}, a.finish), always ? { usage } : {}));
    if (includeUsage && !always) events.push(chunk([], { usage }));
    events.push("data: [DONE]\n\n");

    const trace: StreamTrace = {
      request: rec,
      sent: [],
      done: false,
      cancelled: false,
      cancelReason: undefined,
      aborted: false,
    };
    this.streams.push(trace);
    const enc = new TextEncoder();
    // Faults keep the role chunk (and the first content chunk), then cut or stall.
    const kept = fault === "cutBeforeFirstToken" || fault === "stallBeforeFirstToken" ? 1 : 2;
    if (fault === "malformedJson") events.splice(0, events.length, "data: {not json\n\n");
    else if (fault?.startsWith("cut")) events.splice(kept);
    const stall = fault?.startsWith("stall")
      ? { after: kept, gate: new Promise<void>(() => {}), reached: () => {} }
      : undefined;
    const hold = stall ?? this.holds.shift();
    let pieces = events.map((e) => enc.encode(e));
    const size = this.opts.chunkBytes;
    if (size) {
      const all = enc.encode(events.join(""));
      pieces = [];
      for (let at = 0; at < all.length; at += size) pieces.push(all.slice(at, at + size));
    }
    const dec = new TextDecoder();
    let i = 0;
    let ctl: ReadableStreamDefaultController<Uint8Array> | undefined;
    rec.signal.addEventListener("abort", () => {
      if (trace.done || trace.cancelled) return;
      trace.aborted = true;
      try {
        ctl?.error(rec.signal.reason);
      } catch {
        // Already closed.
      }
    });
    const stream = new ReadableStream<Uint8Array>(
      {
        start(c) {
          ctl = c;
        },
        async pull(c) {
          if (hold && i === hold.after) await hold.gate;
          if (trace.cancelled || trace.aborted) return;
          const piece = pieces[i++];
          if (piece === undefined) return;
          trace.sent.push(dec.decode(piece));
          c.enqueue(piece);
          if (hold && i === hold.after) hold.reached();
          if (i === pieces.length) {
            trace.done = true;
            c.close();
          }
        },
        cancel(reason) {
          trace.cancelled = true;
          trace.cancelReason = reason;
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "x-request-id": `req_fake${this.requests.length}`,
      },
    });
  }

  private embeddings(body: Json, model: string): Response {
    const inputs = Array.isArray(body.input) && typeof body.input[0] !== "number" ? body.input : [body.input];
    const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
    const data = inputs.map((_input, index) => {
      const vec = Array.from({ length: dims }, (_, d) => Number((((index + 1) * (d + 1)) / 100).toFixed(4)));
      const embedding =
        body.encoding_format === "base64"
          ? btoa(String.fromCharCode(...new Uint8Array(new Float32Array(vec).buffer)))
          : vec;
      return { object: "embedding", index, embedding };
    });
    const prompt = inputs.reduce((s: number, x) => s + tokens(JSON.stringify(x)), 0);
    return new Response(
      JSON.stringify({ object: "list", data, model, usage: { prompt_tokens: prompt, total_tokens: prompt } }),
      { headers: { "content-type": "application/json" } },
    );
  }

  private wait(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      // An endless wait (a hang) sets no timer: a delay past 2^31 ms would fire at once.
      const t = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(signal.reason);
      });
    });
  }
}

/** Azure's error body; `code` is a string such as "401" or "DeploymentNotFound". */
function azureError(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message, type: null, param: null } }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

export interface Upstreams {
  /** Registers a fake upstream for an origin (`https://api.openai.com`, `http://127.0.0.1:11434`). */
  add(origin: string, opts?: FakeOptions): FakeUpstream;
  /** Shorthand for an Azure OpenAI resource. */
  azure(origin: string, opts: Omit<FakeOptions, "kind">): FakeUpstream;
  /** Serves an origin with any other fake (another provider's wire format); returns it. */
  mount<T extends MountedFake>(origin: string, fake: T): T;
  /** Requests to an origin no fake serves (they reject as a network failure). */
  unmatched: string[];
  /** The spy on `globalThis.fetch`. */
  spy: ReturnType<typeof vi.spyOn>;
}

/** Anything that answers requests for an origin (FakeUpstream, or a fake of another provider's API). */
export interface MountedFake {
  handle(req: Request): Promise<Response>;
}

/** Replaces `globalThis.fetch` with the fakes; restore with `vi.restoreAllMocks()` in `afterEach`. */
export function installUpstreams(): Upstreams {
  const fakes = new Map<string, MountedFake>();
  const unmatched: string[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = input instanceof Request && init === undefined ? input : new Request(input, init);
    const origin = new URL(req.url).origin;
    const fake = fakes.get(origin);
    if (!fake) {
      unmatched.push(req.url);
      throw new TypeError(`fetch failed: no fake upstream for ${origin}`);
    }
    return fake.handle(req);
  });
  const add = (origin: string, opts: FakeOptions = {}) => {
    const fake = new FakeUpstream(new URL(origin).origin, opts);
    fakes.set(fake.origin, fake);
    return fake;
  };
  return {
    add,
    azure: (origin, opts) => add(origin, { ...opts, kind: "azure" }),
    mount: (origin, fake) => {
      fakes.set(new URL(origin).origin, fake);
      return fake;
    },
    unmatched,
    spy,
  };
}

/** Reads a whole SSE body into its `data:` payloads (`[DONE]` included), checking the framing. */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  if (!text.endsWith("\n\n"))
    throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  return text
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => {
      const lines = e.split("\n");
      if (!lines.every((l) => l.startsWith("data: "))) throw new Error(`Unexpected SSE event: ${e}`);
      return lines.map((l) => l.slice(6)).join("\n");
    });
}

/** The JSON chunks of an SSE body, without `[DONE]`. */
export function chunksOf(events: string[]): Json[] {
  return events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e) as Json);
}
