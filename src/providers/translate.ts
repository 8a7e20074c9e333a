import { GatewayError } from "../http/errors";

/**
 * Small helpers shared by the native translators (Anthropic, Gemini, Bedrock, Workers AI) for reading the
 * canonical (OpenAI) request: message text, data URLs, tool-call arguments and tool names.
 */

type Json = Record<string, unknown>;

/** The text of a message's content: a string, or its `text` parts joined (other parts ignored). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) =>
      (p as Json)?.type === "text" && typeof (p as Json).text === "string" ? (p as Json).text : "",
    )
    .join("");
}

/** `data:<mime>;base64,<data>` → its MIME type and base64 payload; null for any other URL. */
export function parseDataUrl(url: string): { mimeType: string; data: string } | null {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m ? { mimeType: (m[1] as string).toLowerCase(), data: m[2] as string } : null;
}

/** A tool call's `arguments` JSON text → an object; a 400 naming `param` when it is not a JSON object. */
export function parseArguments(args: string, param: string): Json {
  if (args.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(args);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Json;
  } catch {
    // Reported below.
  }
  throw new GatewayError("invalid_request", `${param} must be a JSON object.`, { param });
}

/**
 * The function name of the tool call a tool result answers: the nearest assistant message before
 * `before` that made a call with this id (ids may repeat across turns). Undefined when none did.
 */
export function toolNameFor(messages: readonly Json[], before: number, id: unknown): string | undefined {
  for (let i = before - 1; i >= 0; i--) {
    const m = messages[i] as Json;
    if (m.role !== "assistant" || !Array.isArray(m.tool_calls)) continue;
    for (const t of m.tool_calls as Json[]) {
      const fn = t.function as Json | undefined;
      if (t.id === id && typeof fn?.name === "string") return fn.name;
    }
  }
  return undefined;
}

/**
 * An upstream error answer's body: its JSON (undefined when it is not JSON) and a plain-text message to fall
 * back on (a short excerpt: an HTML error page's title or text, never its markup; else the status). Every
 * provider's `readError` starts here.
 */
export async function errorBody(res: Response): Promise<{ json: unknown; fallback: string }> {
  const text = await res.text().catch(() => "");
  const fallback = excerpt(text) || res.statusText || `HTTP ${res.status}`;
  try {
    return { json: JSON.parse(text), fallback };
  } catch {
    return { json: undefined, fallback };
  }
}

/** The 502 for a 2xx answer that cannot be read; `what` says what was wrong with it. */
export function invalidAnswer(provider: string, what: string): GatewayError {
  return new GatewayError(
    "upstream_invalid_response",
    `Provider '${provider}' answered with success, but ${what}.`,
  );
}

/**
 * A 2xx JSON answer's body as a JSON object; anything else (empty, truncated, an HTML page, a JSON array or
 * scalar) is a 502 `upstream_invalid_response`, which the pipeline retries and fails over like a 5xx.
 */
export async function readJsonAnswer(res: Response, provider: string): Promise<{ json: Json; text: string }> {
  const text = await res.text();
  if (text.trim() === "") throw invalidAnswer(provider, "the body was empty");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidAnswer(provider, `the body is not JSON (${excerpt(text)})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalidAnswer(provider, "the body is not a JSON object");
  }
  return { json: json as Json, text };
}

/** A short, single-line excerpt of a body for an error message: an HTML page's title or text, not its markup. */
export function excerpt(text: string, max = 200): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const plain = (title ?? text.replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ").replace(/<[^>]*>/g, " "))
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}

/**
 * `cache_control`: a prompt-caching breakpoint, a Sluice-internal extension of the canonical request. The
 * Anthropic translation puts it (as the client sent it, `{type: "ephemeral", ttl?}`) on system and user parts,
 * on tool messages (a `tool_result`'s) and on tools; each adapter turns it into its own caching (Bedrock's
 * cachePoint) or strips it and lists it as dropped.
 */
export const CACHE_CONTROL = "cache_control";

/** Whether a message, part or tool carries a cache marker. */
const marked = (o: unknown): boolean => typeof o === "object" && o !== null && CACHE_CONTROL in o;

/** Whether any message, message part or tool carries a cache marker (a scan that copies nothing). */
function hasCacheMarkers(body: Json): boolean {
  if (Array.isArray(body.messages)) {
    for (const m of body.messages as Json[]) {
      if (marked(m)) return true;
      if (Array.isArray(m?.content) && (m.content as unknown[]).some(marked)) return true;
    }
  }
  return Array.isArray(body.tools) && body.tools.some(marked);
}

/**
 * The canonical request without its cache markers (copied where they were, the rest shared), and the
 * canonical paths of those it held (`messages[0].content[1].cache_control`, `tools[3].cache_control`). A body
 * without any is returned as it is, before anything is copied: an agent's long conversation in OpenAI's own
 * format has none, and copying its messages to find that out cost ~10 µs per 200 messages.
 */
export function withoutCacheMarkers(body: Json): { body: Json; dropped: string[] } {
  if (!hasCacheMarkers(body)) return { body, dropped: [] };
  const dropped: string[] = [];
  const strip = <T>(o: T, path: string): T => {
    if (!marked(o)) return o;
    const { [CACHE_CONTROL]: marker, ...rest } = o as Json;
    if (marker != null) dropped.push(`${path}.${CACHE_CONTROL}`);
    return rest as T;
  };
  const out: Json = { ...body };
  if (Array.isArray(body.messages)) {
    out.messages = (body.messages as Json[]).map((m, i) => {
      const msg = strip(m, `messages[${i}]`);
      if (!Array.isArray(msg?.content)) return msg;
      return {
        ...msg,
        content: (msg.content as unknown[]).map((p, j) => strip(p, `messages[${i}].content[${j}]`)),
      };
    });
  }
  if (Array.isArray(body.tools)) out.tools = body.tools.map((t, i) => strip(t, `tools[${i}]`));
  return dropped.length > 0 ? { body: out, dropped } : { body, dropped };
}
