import { blockProblem, systemAndToolsProblem } from "./anthropic-blocks";
import type { MountedFake } from "./upstream";

/**
 * A strict fake of Anthropic's Messages API (`POST /v1/messages`), mounted with `installUpstreams().mount(...)`.
 * Checked against @anthropic-ai/sdk 1.12's types:
 * - auth by API version: `2026-10-21` takes `Authorization: Bearer`, `2023-06-01` takes `x-api-key`; a missing
 *   or wrong key is a 401 `authentication_error`; a missing or unknown `anthropic-version` a 400;
 * - `model`, `messages` and `max_tokens` required; roles user/assistant (and `system` entries only under
 *   2026-10-21); no empty content; the first non-system turn from the user; every `tool_result` answers a
 *   `tool_use` of the assistant turn just before; sampling parameters refused under 2026-10-21 (the API
 *   version removed them); unknown top-level fields refused (`Extra inputs are not permitted`); blocks,
 *   system blocks and tools checked by type as the API does (anthropic-blocks.ts);
 * - answers a Message JSON, or SSE with Anthropic's event names (message_start, content_block_start,
 *   ping, content_block_delta, content_block_stop, message_delta, message_stop); errors as
 *   `{"type":"error","error":{"type","message"}}`.
 */

type Json = Record<string, unknown>;

export interface AnthropicReply {
  text?: string;
  thinking?: string;
  toolUses?: { id: string; name: string; input: Json }[];
  stopReason?: string;
  usage?: Json;
  /** Streams only: an `error` event after the first text delta instead of finishing. */
  midStreamError?: { type: string; message: string };
}

export interface AnthropicRequest {
  headers: Record<string, string>;
  body: Json;
  /** The body text exactly as received. */
  raw: string;
  /** Path and query, e.g. `/v1/messages?beta=true`. */
  path: string;
}

const TOP_LEVEL = new Set([
  "model",
  "messages",
  "max_tokens",
  "system",
  "stop_sequences",
  "stream",
  "tools",
  "tool_choice",
  "metadata",
  "thinking",
  "output_config",
  "service_tier",
  "cache_control",
  "container",
  "temperature",
  "top_p",
  "top_k",
]);

const error = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: "error", error: { type, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

export class FakeAnthropic implements MountedFake {
  readonly requests: AnthropicRequest[] = [];
  private next: AnthropicReply = { text: "Hello from Claude" };
  private failures: { status: number; type: string; message: string; headers?: Record<string, string> }[] =
    [];

  constructor(private readonly apiKey = "sk-ant-test") {}

  reply(r: AnthropicReply): void {
    this.next = r;
  }

  failNext(status: number, type: string, message: string, headers?: Record<string, string>): void {
    this.failures.push({ status, type, message, ...(headers ? { headers } : {}) });
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const counting = url.pathname === "/v1/messages/count_tokens";
    if (url.pathname !== "/v1/messages" && !counting) return error(404, "not_found_error", "Not found");
    const version = req.headers.get("anthropic-version");
    if (version !== "2023-06-01" && version !== "2026-10-21") {
      return error(400, "invalid_request_error", `anthropic-version: invalid or missing (${version})`);
    }
    const presented =
      version === "2026-10-21"
        ? /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1]
        : req.headers.get("x-api-key");
    if (presented !== this.apiKey) return error(401, "authentication_error", "invalid x-api-key");
    const raw = await req.text();
    const body = JSON.parse(raw) as Json;
    this.requests.push({
      headers: Object.fromEntries(req.headers),
      body,
      raw,
      path: url.pathname + url.search,
    });
    // count_tokens takes a messages request without max_tokens (and without stream).
    const invalid = validate(counting ? { max_tokens: 1, ...body } : body, version, betas(req));
    if (invalid) return error(400, "invalid_request_error", invalid);
    if (counting) return json({ input_tokens: Math.ceil(JSON.stringify(body.messages).length / 4) });
    const failure = this.failures.shift();
    if (failure) return error(failure.status, failure.type, failure.message, failure.headers);
    return body.stream === true ? stream(body, this.next) : json(message(body, this.next));
  }
}

/** Top-level fields the API takes only with a beta header naming them (prefix of the beta's name). */
const BETA_FIELDS: Record<string, string> = { context_management: "context-management-" };

function betas(req: Request): string[] {
  return (req.headers.get("anthropic-beta") ?? "").split(",").map((b) => b.trim());
}

function validate(b: Json, version: string, beta: string[] = []): string | null {
  for (const k of Object.keys(b)) {
    const needs = BETA_FIELDS[k];
    if (needs ? !beta.some((x) => x.startsWith(needs)) : !TOP_LEVEL.has(k))
      return `${k}: Extra inputs are not permitted`;
  }
  if (typeof b.model !== "string") return "model: Field required";
  if (typeof b.max_tokens !== "number" || b.max_tokens < 1) return "max_tokens: Field required";
  if (version === "2026-10-21") {
    for (const k of ["temperature", "top_p", "top_k"]) {
      if (k in b) return `${k}: this parameter is not supported in API version 2026-10-21`;
    }
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    return "messages: at least one message is required";
  const outside = systemAndToolsProblem(b);
  if (outside) return outside;
  let prevToolUses = new Set<string>();
  let first = true;
  for (const [i, m] of (b.messages as Json[]).entries()) {
    if (m.role === "system") {
      // Taken under 2026-10-21, or with the mid-conversation-system beta (Claude Code sends it).
      if (version !== "2026-10-21" && !beta.some((x) => x.startsWith("mid-conversation-system-")))
        return `messages.${i}.role: Input should be 'user' or 'assistant'`;
      continue;
    }
    if (m.role !== "user" && m.role !== "assistant")
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (first && m.role !== "user") return "messages: first message must use the user role";
    first = false;
    if (Array.isArray(m.content)) {
      for (const [j, blk] of (m.content as unknown[]).entries()) {
        const p = blockProblem(blk, `messages.${i}.content.${j}`);
        if (p) return p;
      }
    } else if (typeof m.content !== "string") return `messages.${i}.content: Input should be a valid list`;
    const blocks =
      typeof m.content === "string" ? [{ type: "text", text: m.content }] : (m.content as Json[]);
    if (
      !Array.isArray(blocks) ||
      blocks.length === 0 ||
      blocks.some((x) => x.type === "text" && x.text === "")
    ) {
      return `messages.${i}: all messages must have non-empty content`;
    }
    const uses = new Set<string>();
    for (const blk of blocks) {
      if (blk.type === "tool_use") uses.add(String(blk.id));
      if (blk.type === "tool_result" && !prevToolUses.has(String(blk.tool_use_id))) {
        return `messages.${i}: tool_result block(s) provided when previous message does not have a matching tool_use (${String(blk.tool_use_id)})`;
      }
      if (blk.type === "image") {
        const src = blk.source as Json;
        if (src.type === "base64" && !/^[A-Za-z0-9+/=]+$/.test(String(src.data)))
          return `messages.${i}: invalid base64 image`;
      }
    }
    prevToolUses = uses;
  }
  return null;
}

function usage(r: AnthropicReply): Json {
  return {
    input_tokens: 12,
    output_tokens: 7,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    ...r.usage,
  };
}

function message(b: Json, r: AnthropicReply): Json {
  const content: Json[] = [];
  if (r.thinking) content.push({ type: "thinking", thinking: r.thinking, signature: "sig" });
  if (r.text) content.push({ type: "text", text: r.text, citations: null });
  for (const t of r.toolUses ?? []) content.push({ type: "tool_use", ...t });
  return {
    id: "msg_fake01",
    type: "message",
    role: "assistant",
    model: b.model,
    content,
    stop_reason: r.stopReason ?? (r.toolUses?.length ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: usage(r),
  };
}

function stream(b: Json, r: AnthropicReply): Response {
  const events: [string, Json][] = [];
  const u = usage(r);
  events.push([
    "message_start",
    {
      type: "message_start",
      message: { ...message(b, r), content: [], stop_reason: null, usage: { ...u, output_tokens: 1 } },
    },
  ]);
  let index = 0;
  if (r.text) {
    events.push([
      "content_block_start",
      { type: "content_block_start", index, content_block: { type: "text", text: "" } },
    ]);
    events.push(["ping", { type: "ping" }]);
    const words = r.text.split(/(?<= )/);
    for (const [i, w] of words.entries()) {
      events.push([
        "content_block_delta",
        { type: "content_block_delta", index, delta: { type: "text_delta", text: w } },
      ]);
      if (i === 0 && r.midStreamError) {
        events.push(["error", { type: "error", error: r.midStreamError }]);
        return sse(events);
      }
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  for (const t of r.toolUses ?? []) {
    events.push([
      "content_block_start",
      {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: t.id, name: t.name, input: {} },
      },
    ]);
    const json = JSON.stringify(t.input);
    for (let i = 0; i < json.length; i += 5) {
      events.push([
        "content_block_delta",
        {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: json.slice(i, i + 5) },
        },
      ]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  events.push([
    "message_delta",
    {
      type: "message_delta",
      delta: {
        stop_reason: r.stopReason ?? (r.toolUses?.length ? "tool_use" : "end_turn"),
        stop_sequence: null,
      },
      usage: { output_tokens: u.output_tokens },
    },
  ]);
  events.push(["message_stop", { type: "message_stop" }]);
  return sse(events);
}

function sse(events: [string, Json][]): Response {
  const text = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
  return new Response(text, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
}

function json(body: Json): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}
