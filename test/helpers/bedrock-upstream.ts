import { AwsV4Signer } from "aws4fetch";
import { crc32 } from "../../src/formats/event-stream";
import type { MountedFake } from "./upstream";

/**
 * A strict fake of Bedrock Runtime's Converse / ConverseStream, mounted with `installUpstreams().mount(...)`.
 * - SigV4 is verified: the request is signed again with the known secret at its own `x-amz-date` and the
 *   `Authorization` must match (a wrong secret or a tampered body → 403 InvalidSignatureException; an unknown
 *   access key → 403 UnrecognizedClientException);
 * - the body is checked as Bedrock does (400 ValidationException): only known top-level fields, messages
 *   alternating user/assistant starting with user, no `system` role, no empty content, a `toolResult` only
 *   after an assistant `toolUse` with that id; every system block, content block and tool entry one member of
 *   its union; `cachePoint` blocks `{type: "default", ttl?}`, at most 4, only on models that cache (Claude;
 *   Nova outside `toolConfig`);
 * - answers the Converse JSON, or the binary event stream (`:event-type` messageStart, contentBlockStart,
 *   contentBlockDelta, contentBlockStop, messageStop, metadata; or an exception message);
 * - errors as `{"message"}` with `x-amzn-ErrorType`.
 */

type Json = Record<string, unknown>;

export const BEDROCK_ORIGIN = "https://bedrock-runtime.us-east-1.amazonaws.com";
export const CREDS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

const TOP = new Set([
  "messages",
  "system",
  "inferenceConfig",
  "toolConfig",
  "guardrailConfig",
  "additionalModelRequestFields",
  "additionalModelResponseFieldPaths",
  "promptVariables",
  "requestMetadata",
  "performanceConfig",
]);

/** The members of Converse's unions: a system block, a message content block, a tool entry. */
const SYSTEM_BLOCKS = ["text", "guardContent", "cachePoint"];
const CONTENT_BLOCKS = [
  "text",
  "image",
  "document",
  "video",
  "toolUse",
  "toolResult",
  "guardContent",
  "cachePoint",
  "reasoningContent",
  "citationsContent",
  "searchResult",
];
const TOOL_ENTRIES = ["toolSpec", "systemTool", "cachePoint"];
const NO_CACHING =
  "You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information.";

export interface BedrockReply {
  text?: string;
  toolUses?: { toolUseId: string; name: string; input: Json }[];
  stopReason?: string;
  usage?: Json;
  /** Streams only: an exception event after the first text delta. */
  exception?: { type: string; message: string };
}

const fail = (status: number, kind: string, message: string) =>
  new Response(JSON.stringify({ message }), {
    status,
    headers: {
      "content-type": "application/json",
      "x-amzn-errortype": `${kind}:http://internal.amazon.com/coral/`,
    },
  });

export class FakeBedrock implements MountedFake {
  readonly requests: { url: URL; headers: Record<string, string>; body: Json }[] = [];
  next: BedrockReply = { text: "Hello from Bedrock" };
  private failures: { status: number; kind: string; message: string }[] = [];

  failNext(status: number, kind: string, message: string): void {
    this.failures.push({ status, kind, message });
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const raw = await req.text();
    const headers = Object.fromEntries(req.headers);
    const auth = headers.authorization ?? "";
    if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${CREDS.accessKeyId}/`)) {
      return fail(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    }
    const resigned = await new AwsV4Signer({
      method: "POST",
      url: req.url,
      headers: Object.fromEntries(
        Object.entries(headers).filter(([k]) => k === "content-type" || k === "x-amz-security-token"),
      ),
      body: raw,
      ...CREDS,
      sessionToken: headers["x-amz-security-token"],
      service: "bedrock",
      region: "us-east-1",
      datetime: headers["x-amz-date"],
    }).sign();
    if (resigned.headers.get("authorization") !== auth) {
      return fail(
        403,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
      );
    }
    const m = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(url.pathname);
    if (!m) return fail(404, "UnknownOperationException", "Unknown operation");
    const body = JSON.parse(raw) as Json;
    this.requests.push({ url, headers, body });
    const invalid = validate(body) ?? validateBlocks(body, decodeURIComponent(m[1] as string));
    if (invalid) return fail(400, "ValidationException", invalid);
    const failure = this.failures.shift();
    if (failure) return fail(failure.status, failure.kind, failure.message);
    return m[2] === "converse" ? Response.json(converse(this.next)) : stream(this.next);
  }
}

function validate(b: Json): string | null {
  for (const k of Object.keys(b))
    if (!TOP.has(k)) return `Malformed input request: extraneous key [${k}] is not permitted`;
  const messages = b.messages as Json[] | undefined;
  if (!Array.isArray(messages) || messages.length === 0)
    return "A conversation must start with a user message.";
  let previous = new Set<string>();
  for (const [i, msg] of messages.entries()) {
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (msg.role !== expected) {
      return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";
    }
    const content = msg.content as Json[];
    if (!Array.isArray(content) || content.length === 0)
      return `The content field in the Message object at messages.${i} is empty.`;
    const uses = new Set<string>();
    for (const c of content) {
      const use = c.toolUse as Json | undefined;
      if (use) uses.add(String(use.toolUseId));
      const result = c.toolResult as Json | undefined;
      if (result && !previous.has(String(result.toolUseId))) {
        return `The toolResult blocks at messages.${i}.content contain a toolUseId that is not in the previous turn.`;
      }
    }
    previous = uses;
  }
  return null;
}

/** Union members and cache points, as Converse checks them; null when the body is fine. */
function validateBlocks(b: Json, model: string): string | null {
  const lists: [string, unknown[], string[]][] = [
    ["system", (b.system as unknown[] | undefined) ?? [], SYSTEM_BLOCKS],
    ...((b.messages as Json[]).map((m, i) => [
      `messages.${i}.content`,
      m.content as unknown[],
      CONTENT_BLOCKS,
    ]) as [string, unknown[], string[]][]),
    [
      "toolConfig.tools",
      ((b.toolConfig as Json | undefined)?.tools as unknown[] | undefined) ?? [],
      TOOL_ENTRIES,
    ],
  ];
  let points = 0;
  for (const [path, list, members] of lists) {
    for (const [j, block] of list.entries()) {
      const keys = typeof block === "object" && block !== null ? Object.keys(block) : [];
      if (keys.length !== 1 || !members.includes(keys[0] as string)) {
        return `Malformed input request: ${path}.${j} must set exactly one of [${members.join(", ")}], please reformat your input and try again.`;
      }
      const point = (block as Json).cachePoint as Json | undefined;
      if (!point) continue;
      const { type, ttl, ...rest } = point;
      if (
        type !== "default" ||
        (ttl !== undefined && ttl !== "5m" && ttl !== "1h") ||
        Object.keys(rest).length > 0
      ) {
        return `Malformed input request: ${path}.${j}.cachePoint is not a valid CachePointBlock, please reformat your input and try again.`;
      }
      const caches = /claude/i.test(model) || (/nova/i.test(model) && path !== "toolConfig.tools");
      if (!caches) return NO_CACHING;
      if (++points > 4) return "The number of cache checkpoints in the request exceeds the maximum of 4.";
    }
  }
  return null;
}

function usage(r: BedrockReply): Json {
  return { inputTokens: 11, outputTokens: 6, totalTokens: 17, ...r.usage };
}

function converse(r: BedrockReply): Json {
  const content: Json[] = [];
  if (r.text) content.push({ text: r.text });
  for (const t of r.toolUses ?? []) content.push({ toolUse: t });
  return {
    output: { message: { role: "assistant", content } },
    stopReason: r.stopReason ?? (r.toolUses?.length ? "tool_use" : "end_turn"),
    usage: usage(r),
    metrics: { latencyMs: 42 },
  };
}

/** Encodes one event-stream message with string headers. */
export function frame(headers: Record<string, string>, payload: Json): Uint8Array {
  const enc = new TextEncoder();
  const hs = Object.entries(headers).flatMap(([k, v]) => {
    const name = enc.encode(k);
    const value = enc.encode(v);
    return [
      Uint8Array.of(name.length),
      name,
      Uint8Array.of(7, value.length >> 8, value.length & 0xff),
      value,
    ];
  });
  const hbytes = concat(hs);
  const body = enc.encode(JSON.stringify(payload));
  const total = 12 + hbytes.length + body.length + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, hbytes.length);
  view.setUint32(8, crc32(out.subarray(0, 8)));
  out.set(hbytes, 12);
  out.set(body, 12 + hbytes.length);
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)));
  return out;
}

const event = (type: string, payload: Json) =>
  frame({ ":event-type": type, ":content-type": "application/json", ":message-type": "event" }, payload);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The whole ConverseStream body for a reply, as one byte array. */
export function streamBytes(r: BedrockReply): Uint8Array {
  const frames = [event("messageStart", { role: "assistant" })];
  let index = 0;
  if (r.text) {
    for (const [i, w] of r.text.split(/(?<= )/).entries()) {
      frames.push(event("contentBlockDelta", { contentBlockIndex: index, delta: { text: w } }));
      if (i === 0 && r.exception) {
        frames.push(
          frame(
            {
              ":message-type": "exception",
              ":exception-type": r.exception.type,
              ":content-type": "application/json",
            },
            { message: r.exception.message },
          ),
        );
        return concat(frames);
      }
    }
    frames.push(event("contentBlockStop", { contentBlockIndex: index++ }));
  }
  for (const t of r.toolUses ?? []) {
    frames.push(
      event("contentBlockStart", {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: t.toolUseId, name: t.name } },
      }),
    );
    const json = JSON.stringify(t.input);
    for (let i = 0; i < json.length; i += 4) {
      frames.push(
        event("contentBlockDelta", {
          contentBlockIndex: index,
          delta: { toolUse: { input: json.slice(i, i + 4) } },
        }),
      );
    }
    frames.push(event("contentBlockStop", { contentBlockIndex: index++ }));
  }
  frames.push(
    event("messageStop", { stopReason: r.stopReason ?? (r.toolUses?.length ? "tool_use" : "end_turn") }),
  );
  frames.push(event("metadata", { usage: usage(r), metrics: { latencyMs: 42 } }));
  return concat(frames);
}

/** Sends the stream in 7-byte pieces, so frames arrive cut at arbitrary points. */
function stream(r: BedrockReply): Response {
  const bytes = streamBytes(r);
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) c.close();
      else c.enqueue(bytes.slice(at, at + 7));
      at += 7;
    },
  });
  return new Response(body, { headers: { "content-type": "application/vnd.amazon.eventstream" } });
}
