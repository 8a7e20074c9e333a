import { GatewayError } from "../http/errors";
import { parseBody } from "../http/validate";
import { PARAMS, type ResponsesRequest, responsesRequestSchema } from "./responses-schema";
import {
  chatTool,
  chatToolChoice,
  collectTools,
  flatName,
  type Namespaced,
  type ToolSet,
} from "./responses-tools";

/**
 * OpenAI's Responses API inbound (`POST /v1/responses`): the request (schema in responses-schema.ts) → canonical
 * (chat) translation. What the answer echoes of the request is kept as a `ResponsesEcho`; answers and streams are
 * written in responses-stream.ts. Translation is pure: stored state (`previous_response_id` expanded,
 * `item_reference` items resolved) is brought in before it, by src/responses/; an unresolved `item_reference` and
 * what needs state Sluice does not keep (`conversation`, `background`, `prompt`) are a 400.
 */

type Json = Record<string, unknown>;

export type { ResponsesRequest };

/** The request fields a Response object echoes (openai 7.57's `Response`), fixed when the request is parsed. */
export interface ResponsesEcho {
  model: string;
  instructions: string | null;
  metadata: Record<string, string>;
  tools: Json[];
  tool_choice: unknown;
  text: Json;
  reasoning: Json;
  temperature: number | null;
  top_p: number | null;
  top_logprobs: number | null;
  parallel_tool_calls: boolean;
  max_output_tokens: number | null;
  max_tool_calls: number | null;
  truncation: string;
  service_tier: string | null;
  prompt_cache_key: string | null;
  safety_identifier: string | null;
  user?: string;
  /** Whether the answer is stored: the request's `store` (true when omitted, as the API's default) until the store declines. */
  store: boolean;
  previous_response_id: string | null;
  /** Flattened namespace tools by canonical name, so their calls are answered with `namespace` (not echoed). */
  namespaced?: Namespaced;
}

const unsupported = (param: string, message: string) =>
  new GatewayError("unsupported_parameter", message, { param });

/** Parameters that need state Sluice does not keep (or a service it does not run): a 400 when set. */
const UNSERVED: Record<string, string> = {
  conversation: "Sluice stores no conversations yet: send the whole conversation in `input`.",
  background: "Sluice stores no responses to poll.",
  prompt: "Sluice stores no prompt templates: send `instructions` and `input` instead.",
  moderation: "Sluice runs no moderation of responses.",
};

/** Checks that only known parameters are present and nothing needs state Sluice does not keep. */
function refuseUnserved(json: unknown): void {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return;
  for (const key of Object.keys(json)) {
    if (!PARAMS.has(key)) {
      throw new GatewayError("invalid_request", `Unknown parameter: '${key}'.`, {
        param: key,
        wireCode: "unknown_parameter",
      });
    }
  }
  const j = json as Json;
  for (const [param, why] of Object.entries(UNSERVED)) {
    if (j[param] != null && j[param] !== false)
      throw unsupported(param, `'${param}' is not supported. ${why}`);
  }
}

/** Text of parts (input_text, output_text, refusal); other parts are listed as dropped under `at`. */
function textOf(content: string | Json[], at: string, dropped: Set<string>): string {
  if (typeof content === "string") return content;
  return content
    .map((p, j) => {
      if (p.type === "input_text" || p.type === "output_text") return String(p.text);
      if (p.type === "refusal") return String(p.refusal);
      dropped.add(`${at}[${j}]`);
      return "";
    })
    .join("");
}

/** A user content part → a chat part; null when it is dropped (listed). An uploaded file's id is a 400. */
function chatPart(p: Json, at: string, dropped: Set<string>): Json | null {
  if (p.type === "input_text" || p.type === "output_text") return { type: "text", text: p.text };
  if (p.type === "input_image" || p.type === "input_file") {
    if (p.file_id != null)
      throw unsupported(
        `${at}.file_id`,
        `${at}: file_id is not supported (Sluice cannot read files uploaded to OpenAI); send the ${p.type === "input_image" ? "image as image_url (a URL or a data: URL)" : "file as file_data"}.`,
      );
  }
  if (p.type === "input_image" && typeof p.image_url === "string") {
    const detail = ["low", "high", "auto"].includes(String(p.detail)) ? { detail: p.detail } : {};
    return { type: "image_url", image_url: { url: p.image_url, ...detail } };
  }
  if (p.type === "input_file" && typeof p.file_data === "string") {
    return {
      type: "file",
      file: { file_data: p.file_data, ...(typeof p.filename === "string" ? { filename: p.filename } : {}) },
    };
  }
  dropped.add(at);
  return null;
}

/** `input` (a string or items) → chat messages; consecutive function calls join one assistant message. */
function messagesOf(
  input: ResponsesRequest["input"],
  dropped: Set<string>,
  set: ToolSet,
  hosted: GatewayError[],
): Json[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const out: Json[] = [];
  input.forEach((raw, i) => {
    const it = raw as Json;
    const type = String(it.type ?? "message");
    const at = `input[${i}]`;
    if (type === "message") {
      const role = String(it.role);
      const content = it.content as string | Json[];
      if (role === "user") {
        if (typeof content === "string") out.push({ role, content });
        else {
          const parts = content
            .map((p, j) => chatPart(p, `${at}.content[${j}]`, dropped))
            .filter((p): p is Json => p !== null);
          if (parts.length > 0) out.push({ role, content: parts });
        }
      } else {
        out.push({ role, content: textOf(content, `${at}.content`, dropped) });
      }
    } else if (type === "additional_tools") {
      // Tools declared mid-conversation (Codex sends its tools so): declared for the whole call.
      collectTools((it.tools as Json[] | undefined) ?? [], `${at}.tools`, set, dropped);
    } else if (type === "function_call") {
      const name = typeof it.namespace === "string" ? flatName(it.namespace, String(it.name)) : it.name;
      const call = { id: it.call_id, type: "function", function: { name, arguments: it.arguments } };
      const last = out[out.length - 1];
      if (last?.role === "assistant") {
        last.tool_calls = [...((last.tool_calls as Json[] | undefined) ?? []), call];
        if (last.content === "") last.content = null;
      } else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      const output = it.output as string | Json[];
      out.push({ role: "tool", tool_call_id: it.call_id, content: textOf(output, `${at}.output`, dropped) });
    } else if (type === "reasoning" || type === "custom_tool_call" || type === "custom_tool_call_output") {
      // Reasoning (its encrypted_content is only OpenAI's to read) and custom tools' calls, which are dropped.
      dropped.add(at);
    } else if (type === "item_reference") {
      // The route resolves references against the key's stored responses before translation.
      throw unsupported(at, `${at}: an item_reference must name an item of a stored response.`);
    } else {
      // Items of built-in tools (web search calls, …): only a target that serves the Responses API takes them.
      hosted.push(
        unsupported(
          `${at}.type`,
          `${at}: items of type '${type}' are not supported here (they belong to built-in tools, which only a Responses API target serves).`,
        ),
      );
    }
  });
  return out;
}

/** `text.format` → chat's `response_format`. */
function responseFormat(format: Json): Json {
  if (format.type !== "json_schema") return { type: format.type };
  const { type: _type, ...schema } = format;
  for (const k of ["description", "strict"]) if (schema[k] == null) delete schema[k];
  return { type: "json_schema", json_schema: schema };
}

/** The request checked (400s for unknown parameters, unserved ones and invalid fields), not yet translated. */
export function validateResponsesRequest(json: unknown): ResponsesRequest {
  refuseUnserved(json);
  return parseBody(responsesRequestSchema, json);
}

/**
 * A Responses request → the canonical chat request (stream usage always asked for), the request parts it could
 * not carry (`include`, `input[2]`, …) and what the answer echoes. A 400 for unknown parameters, parameters that
 * need state Sluice does not keep, hosted tools and uploaded files.
 */
export function fromResponsesRequest(json: unknown): {
  body: Json & { model: string };
  stream: boolean;
  dropped: string[];
  echo: ResponsesEcho;
  /** The first part only a Responses API target can take (see ParsedCall.untranslatable). */
  untranslatable: GatewayError | undefined;
} {
  const req = validateResponsesRequest(json);
  const dropped = new Set<string>();
  const set: ToolSet = { functions: [], namespaced: {} };
  collectTools((req.tools ?? []) as Json[], "tools", set, dropped);
  // What the canonical form cannot carry at all: a 400 unless the call passes through (ParsedCall.untranslatable).
  const hosted: GatewayError[] = [];
  const messages = messagesOf(req.input, dropped, set, hosted);
  const tools = set.functions;
  if (req.instructions) messages.unshift({ role: "system", content: req.instructions });
  if (messages.length === 0 && hosted.length === 0) {
    const why = "Invalid request: input: there is no message to send.";
    throw new GatewayError("invalid_request", why, { param: "input" });
  }
  const body: Json & { model: string } = { model: req.model, messages };
  if (tools.length > 0) body.tools = tools.map(chatTool);
  // With every declared tool dropped, chat would refuse tool_choice and parallel_tool_calls: they go too.
  const allDropped = tools.length === 0 && [...dropped].some((d) => /^tools\[|\.tools\[/.test(d));
  if (req.tool_choice != null) {
    const choice = forcedChoice(req.tool_choice, hosted);
    if (!allDropped) body.tool_choice = choice;
    else if (choice !== "auto" && choice !== "none") dropped.add("tool_choice");
  }
  const format = req.text?.format as Json | undefined;
  if (format && format.type !== "text") body.response_format = responseFormat(format);
  if (req.text?.verbosity != null) body.verbosity = req.text.verbosity;
  if (req.reasoning?.effort != null) body.reasoning_effort = req.reasoning.effort;
  if (req.max_output_tokens != null) body.max_completion_tokens = req.max_output_tokens;
  const carried =
    `parallel_tool_calls temperature top_p user service_tier prompt_cache_key prompt_cache_retention
    safety_identifier`.split(/\s+/) as (keyof ResponsesRequest)[];
  for (const k of carried) if (req[k] != null) body[k] = req[k];
  if (allDropped) delete body.parallel_tool_calls;
  if (req.stream === true) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  // Known but not carried: listed when they ask for something.
  const j = json as Json;
  const asks: [string, boolean][] = [
    ["include", (req.include?.length ?? 0) > 0],
    ["truncation", req.truncation === "auto"],
    ["top_logprobs", (req.top_logprobs ?? 0) > 0],
    ["max_tool_calls", req.max_tool_calls != null],
    ["reasoning.summary", req.reasoning?.summary != null || req.reasoning?.generate_summary != null],
    ["access_programs", j.access_programs != null],
    ["context_management", j.context_management != null],
    ["image", j.image != null],
    ["prompt_cache_options", j.prompt_cache_options != null],
    ["client_metadata", j.client_metadata != null],
  ];
  for (const [name, asked] of asks) if (asked) dropped.add(name);
  return {
    body,
    stream: req.stream === true,
    dropped: [...dropped],
    echo: echoOf(req, tools, set.namespaced),
    untranslatable: hosted[0],
  };
}

/** `tool_choice` in chat's terms; a forced built-in tool is kept aside in `hosted` (it has none). */
function forcedChoice(choice: unknown, hosted: GatewayError[]): unknown {
  try {
    return chatToolChoice(choice);
  } catch (e) {
    if (!(e instanceof GatewayError) || e.code !== "unsupported_parameter") throw e;
    hosted.push(e);
    return "auto";
  }
}

function echoOf(req: ResponsesRequest, tools: Json[], namespaced: Namespaced): ResponsesEcho {
  const text: Json = { format: req.text?.format ?? { type: "text" } };
  if (req.text?.verbosity != null) text.verbosity = req.text.verbosity;
  return {
    model: req.model,
    instructions: req.instructions ?? null,
    metadata: req.metadata ?? {},
    tools: tools.map((t) => ({
      type: "function",
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict ?? null,
    })),
    tool_choice: req.tool_choice ?? "auto",
    text,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: req.reasoning?.summary ?? null },
    temperature: req.temperature ?? null,
    top_p: req.top_p ?? null,
    top_logprobs: req.top_logprobs ?? null,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    max_output_tokens: req.max_output_tokens ?? null,
    max_tool_calls: req.max_tool_calls ?? null,
    truncation: req.truncation ?? "disabled",
    service_tier: req.service_tier ?? null,
    prompt_cache_key: req.prompt_cache_key ?? null,
    safety_identifier: req.safety_identifier ?? null,
    ...(req.user !== undefined ? { user: req.user } : {}),
    store: req.store !== false,
    previous_response_id: req.previous_response_id ?? null,
    namespaced,
  };
}
