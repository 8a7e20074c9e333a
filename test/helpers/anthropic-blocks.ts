/**
 * The strict Anthropic fake's check of content blocks, tools and system blocks, worded as the API words its
 * 400s (pydantic: a path with the block's tag, `messages.1.content.0.text.text: Input should be a valid
 * string`). A request passed through goes to Anthropic with its blocks unchecked by the gateway, so the fake
 * refuses what the API refuses: a block that is not an object, an unknown type, a wrong-typed field.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const MEDIA_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"];
/** Block types the API takes in requests (SDK 1.12's ContentBlockParam), checked or not. */
const TYPES = new Set([
  "text",
  "image",
  "document",
  "search_result",
  "thinking",
  "redacted_thinking",
  "tool_use",
  "tool_result",
  "server_tool_use",
  "web_search_tool_result",
  "web_fetch_tool_result",
  "code_execution_tool_result",
  "bash_code_execution_tool_result",
  "text_editor_code_execution_tool_result",
  "mcp_tool_use",
  "mcp_tool_result",
  "container_upload",
]);

const str = (o: Json, k: string, at: string): string | null =>
  typeof o[k] === "string" ? null : `${at}.${k}: Input should be a valid string`;

function cacheControl(b: Json, at: string): string | null {
  const c = b.cache_control;
  if (c == null) return null;
  if (!isObject(c) || typeof c.type !== "string")
    return `${at}.cache_control: Input should be a valid dictionary`;
  return null;
}

/** What the API says of one block at `path` (`messages.0.content.1`), or null when it takes it. */
export function blockProblem(b: unknown, path: string, only?: readonly string[]): string | null {
  if (!isObject(b)) return `${path}: Input should be a valid dictionary or object to extract fields from`;
  const type = b.type;
  if (typeof type !== "string") return `${path}: Unable to extract tag using discriminator 'type'`;
  if (!TYPES.has(type) || (only && !only.includes(type))) {
    return `${path}: Input tag '${type}' found using 'type' does not match any of the expected tags`;
  }
  const at = `${path}.${type}`;
  switch (type) {
    case "text":
      return str(b, "text", at) ?? cacheControl(b, at);
    case "image": {
      const src = b.source;
      if (!isObject(src)) return `${at}.source: Input should be a valid dictionary`;
      if (src.type === "base64") {
        if (typeof src.media_type !== "string" || !MEDIA_TYPES.includes(src.media_type)) {
          return `${at}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
        }
        return str(src, "data", `${at}.source.base64`) ?? cacheControl(b, at);
      }
      if (src.type === "url") return str(src, "url", `${at}.source.url`) ?? cacheControl(b, at);
      return `${at}.source: Input tag '${String(src.type)}' found using 'type' does not match any of the expected tags`;
    }
    case "tool_use":
      if (!isObject(b.input)) return `${at}.input: Input should be a valid dictionary`;
      return str(b, "id", at) ?? str(b, "name", at) ?? cacheControl(b, at);
    case "tool_result": {
      const c = b.content;
      if (c !== undefined && typeof c !== "string") {
        if (!Array.isArray(c)) return `${at}.content: Input should be a valid list`;
        for (const [k, x] of c.entries()) {
          const p = blockProblem(x, `${at}.content.${k}`, ["text", "image", "search_result", "document"]);
          if (p) return p;
        }
      }
      if (b.is_error !== undefined && typeof b.is_error !== "boolean")
        return `${at}.is_error: Input should be a valid boolean`;
      return str(b, "tool_use_id", at) ?? cacheControl(b, at);
    }
    case "thinking":
      return str(b, "thinking", at) ?? str(b, "signature", at);
    case "redacted_thinking":
      return str(b, "data", at);
    default:
      return null;
  }
}

/** The request's system prompt (a string or text blocks) and tools, as the API checks them. */
export function systemAndToolsProblem(body: Json): string | null {
  const system = body.system;
  if (system !== undefined && typeof system !== "string") {
    if (!Array.isArray(system)) return "system: Input should be a valid string or list";
    for (const [j, b] of system.entries()) {
      const p = blockProblem(b, `system.${j}`, ["text"]);
      if (p) return p;
    }
  }
  const tools = body.tools;
  if (tools === undefined) return null;
  if (!Array.isArray(tools)) return "tools: Input should be a valid list";
  for (const [j, t] of tools.entries()) {
    if (!isObject(t)) return `tools.${j}: Input should be a valid dictionary`;
    if (typeof t.name !== "string") return `tools.${j}.name: Input should be a valid string`;
    if (t.input_schema !== undefined && !isObject(t.input_schema))
      return `tools.${j}.custom.input_schema: Input should be a valid dictionary`;
  }
  return null;
}
