import type { MountedFake, RecordedRequest } from "./upstream";

/**
 * A strict fake of OpenAI's Responses API (`POST /v1/responses`), or of Azure OpenAI's v1 surface
 * (`POST /openai/v1/responses`, `api-key`, the deployment as the model), written from the API reference and the
 * `openai` SDK's types (7.57): Bearer / api-key auth (401 otherwise), a JSON body (400 "could not parse"), only
 * `ResponseCreateParams`' top-level parameters (400 `unknown_parameter` naming another), a string `model`,
 * `input` as a string or items, a `previous_response_id` it stored itself (400 `previous_response_not_found`
 * otherwise; `store: false` stores nothing). Answers are Response objects, or the event stream as the API frames
 * it (`event:` and `data:` lines, `sequence_number` from 0): created, in_progress, output items added with their
 * parts, text / argument deltas and dones, output items done, then `response.completed` with usage. A
 * `web_search` tool makes it answer with a `web_search_call` item first, as the hosted tool does.
 */

type Json = Record<string, unknown>;

/** `ResponseCreateParams`' parameters, and `client_metadata`, which the Codex CLI sends to OpenAI's own endpoint. */
const PARAMS = new Set(
  `access_programs client_metadata background context_management conversation image include input instructions max_output_tokens
  max_tool_calls metadata model moderation parallel_tool_calls previous_response_id prompt prompt_cache_key
  prompt_cache_options prompt_cache_retention reasoning safety_identifier service_tier store stream stream_options
  temperature text tool_choice tools top_logprobs top_p truncation user`.split(/\s+/),
);

export interface ResponsesReply {
  text?: string;
  /** A function call instead of text. */
  call?: { name: string; arguments: string; callId?: string };
  usage?: { input: number; output: number; cached?: number; reasoning?: number };
}

const error = (status: number, message: string, code: string | null, param: string | null = null) =>
  new Response(JSON.stringify({ error: { message, type: "invalid_request_error", param, code } }), {
    status,
    headers: { "content-type": "application/json" },
  });

const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");

export class FakeResponsesApi implements MountedFake {
  readonly requests: RecordedRequest[] = [];
  /** Stored Response objects (store true or omitted), with the input they answered. */
  readonly stored = new Map<string, { response: Json; input: unknown }>();
  private replies: ResponsesReply[] = [];
  private failures: { status: number; message: string }[] = [];
  /** Streams end after this many events, without `response.completed` (a cut stream). */
  cutAfter: number | null = null;

  constructor(
    readonly apiKey: string,
    readonly kind: "openai" | "azure" = "openai",
  ) {}

  replyOnce(r: ResponsesReply): this {
    this.replies.push(r);
    return this;
  }

  failNext(status: number, message: string): this {
    this.failures.push({ status, message });
    return this;
  }

  async handle(req: Request): Promise<Response> {
    const raw = await req.text();
    const url = new URL(req.url);
    const headers = Object.fromEntries([...req.headers].map(([k, v]) => [k.toLowerCase(), v]));
    let body: Json = {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Json;
    } catch {
      parsed = undefined;
    }
    this.requests.push({ url, method: req.method, headers, body, raw, signal: req.signal });

    const path = this.kind === "azure" ? "/openai/v1/responses" : "/v1/responses";
    if (req.method !== "POST" || url.pathname !== path)
      return error(404, `Invalid URL (${req.method} ${url.pathname})`, null);
    const authorized =
      this.kind === "azure"
        ? headers["api-key"] === this.apiKey
        : headers.authorization === `Bearer ${this.apiKey}`;
    if (!authorized) {
      return this.kind === "azure"
        ? new Response(
            JSON.stringify({
              error: { code: "401", message: "Access denied due to invalid subscription key." },
            }),
            { status: 401, headers: { "content-type": "application/json" } },
          )
        : error(401, "Incorrect API key provided.", "invalid_api_key");
    }
    if (!(headers["content-type"] ?? "").includes("application/json") || parsed !== body)
      return error(400, "We could not parse the JSON body of your request.", null);
    for (const k of Object.keys(body))
      if (!PARAMS.has(k)) return error(400, `Unknown parameter: '${k}'.`, "unknown_parameter", k);
    if (typeof body.model !== "string" || body.model === "")
      return error(400, "Missing required parameter: 'model'.", "missing_required_parameter", "model");
    if (body.input !== undefined && typeof body.input !== "string" && !Array.isArray(body.input))
      return error(400, "Invalid type for 'input'.", "invalid_type", "input");
    const previous = body.previous_response_id;
    if (previous !== undefined && previous !== null) {
      if (typeof previous !== "string" || !this.stored.has(previous))
        return error(
          400,
          `Previous response with id '${String(previous)}' not found.`,
          "previous_response_not_found",
          "previous_response_id",
        );
    }
    const failure = this.failures.shift();
    if (failure) return error(failure.status, failure.message, null);

    const response = this.answer(body);
    if (body.store !== false) this.stored.set(String(response.id), { response, input: body.input });
    if (body.stream !== true) {
      return new Response(JSON.stringify(response), {
        headers: { "content-type": "application/json", "x-request-id": `req_${hex(8)}` },
      });
    }
    return this.stream(response);
  }

  private answer(body: Json): Json {
    const reply = this.replies.shift() ?? { text: `Hello from ${this.kind}.` };
    const id = `resp_${hex(25)}`;
    const output: Json[] = [];
    const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
    if (tools.some((t) => t.type === "web_search")) {
      output.push({
        id: `ws_${hex(25)}`,
        type: "web_search_call",
        status: "completed",
        action: { type: "search", query: String(typeof body.input === "string" ? body.input : "query") },
      });
    }
    if (reply.call) {
      output.push({
        id: `fc_${hex(25)}`,
        type: "function_call",
        status: "completed",
        arguments: reply.call.arguments,
        call_id: reply.call.callId ?? `call_${hex(12)}`,
        name: reply.call.name,
      });
    } else {
      output.push({
        id: `msg_${hex(25)}`,
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", annotations: [], logprobs: [], text: reply.text ?? "" }],
      });
    }
    const u = reply.usage ?? { input: 12, output: 5 };
    return {
      id,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      status: "completed",
      background: false,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model: body.model,
      output,
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: body.store !== false,
      temperature: body.temperature ?? 1,
      text: body.text ?? { format: { type: "text" } },
      tool_choice: body.tool_choice ?? "auto",
      tools,
      top_p: body.top_p ?? 1,
      truncation: "disabled",
      usage: {
        input_tokens: u.input,
        input_tokens_details: { cached_tokens: u.cached ?? 0 },
        output_tokens: u.output,
        output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
        total_tokens: u.input + u.output,
      },
      user: null,
      metadata: body.metadata ?? {},
    };
  }

  /** The Response's event stream, as the API sends it. */
  private stream(final: Json): Response {
    const events: Json[] = [];
    const snapshot = (status: string, output: Json[]): Json => ({ ...final, status, output, usage: null });
    events.push({ type: "response.created", response: snapshot("in_progress", []) });
    events.push({ type: "response.in_progress", response: snapshot("in_progress", []) });
    (final.output as Json[]).forEach((item, output_index) => {
      if (item.type === "message") {
        const text = String(((item.content as Json[])[0] as Json).text);
        events.push({
          type: "response.output_item.added",
          output_index,
          item: { ...item, status: "in_progress", content: [] },
        });
        const at = { item_id: item.id, output_index, content_index: 0 };
        const empty = { type: "output_text", annotations: [], logprobs: [], text: "" };
        events.push({ type: "response.content_part.added", ...at, part: empty });
        for (const piece of text.match(/\S+\s*/g) ?? [])
          events.push({ type: "response.output_text.delta", ...at, delta: piece, logprobs: [] });
        events.push({ type: "response.output_text.done", ...at, text, logprobs: [] });
        events.push({ type: "response.content_part.done", ...at, part: { ...empty, text } });
      } else if (item.type === "function_call") {
        events.push({
          type: "response.output_item.added",
          output_index,
          item: { ...item, status: "in_progress", arguments: "" },
        });
        const args = String(item.arguments);
        const half = Math.ceil(args.length / 2);
        for (const delta of [args.slice(0, half), args.slice(half)])
          events.push({
            type: "response.function_call_arguments.delta",
            item_id: item.id,
            output_index,
            delta,
          });
        events.push({
          type: "response.function_call_arguments.done",
          item_id: item.id,
          output_index,
          name: item.name,
          arguments: args,
        });
      } else {
        events.push({
          type: "response.output_item.added",
          output_index,
          item: { ...item, status: "in_progress" },
        });
      }
      events.push({ type: "response.output_item.done", output_index, item });
    });
    events.push({ type: "response.completed", response: final });
    const sent = this.cutAfter === null ? events : events.slice(0, this.cutAfter);
    const text = sent
      .map((e, sequence_number) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number })}\n\n`)
      .join("");
    return new Response(text, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
  }
}
