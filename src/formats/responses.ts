import * as z from "zod";
import { GatewayError } from "../http/errors";
import { parseBody } from "../http/validate";
import { byType } from "./typed";

/**
 * OpenAI's Responses API inbound (`POST /v1/responses`, openai 7.57's `ResponseCreateParams`): the request schema
 * and the request → canonical (chat) translation. What the answer echoes of the request is kept as a
 * `ResponsesEcho`; answers and streams are written in responses-stream.ts. No state is kept: anything that needs
 * a stored response (`previous_response_id`, `conversation`, `item_reference`, `background`, `prompt`) is a 400.
 */

type Json = Record<string, unknown>;

/** Every top-level parameter of `ResponseCreateParams`; any other is a 400 `unknown_parameter`, as the API answers. */
const PARAMS = new Set(
  `access_programs background context_management conversation image include input instructions max_output_tokens
  max_tool_calls metadata model moderation parallel_tool_calls previous_response_id prompt prompt_cache_key
  prompt_cache_options prompt_cache_retention reasoning safety_identifier service_tier store stream stream_options
  temperature text tool_choice tools top_logprobs top_p truncation user`.split(/\s+/),
);

const inputText = z.looseObject({ text: z.string() });
const inputImage = z.looseObject({
  image_url: z.string().min(1).nullish(),
  file_id: z.string().nullish(),
  detail: z.string().nullish(),
});
const inputFile = z.looseObject({
  file_data: z.string().nullish(),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
});
const part = byType({
  input_text: inputText,
  input_image: inputImage,
  input_file: inputFile,
  output_text: inputText,
  refusal: z.looseObject({ refusal: z.string() }),
});

/** Input items by type; an item without `type` is a message (`EasyInputMessage`). Other types pass to translation. */
const ITEMS: Record<string, z.ZodType> = {
  message: z.looseObject({
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: z.union([z.string(), z.array(part)]),
  }),
  function_call: z.looseObject({
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
  }),
  function_call_output: z.looseObject({
    call_id: z.string({ message: "call_id is required" }).min(1),
    output: z.union([
      z.string(),
      z.array(byType({ input_text: inputText, input_image: inputImage, input_file: inputFile })),
    ]),
  }),
};
const item = z.looseObject({ type: z.string().min(1).optional() }).superRefine((value, ctx) => {
  const schema = ITEMS[value.type ?? "message"];
  const result = schema?.safeParse(value);
  if (result && !result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue });
});

const functionTool = z.looseObject({
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

export const responsesRequestSchema = z.looseObject({
  model: z.string({ message: "Missing required parameter: 'model'." }).min(1, "model is required"),
  input: z.union([z.string(), z.array(item)], { message: "Missing required parameter: 'input'." }),
  instructions: z.string().nullish(),
  tools: z.array(byType({ function: functionTool })).nullish(),
  tool_choice: z
    .union([
      z.enum(["none", "auto", "required"]),
      byType({
        function: z.looseObject({ name: z.string().min(1) }),
        allowed_tools: z.looseObject({
          mode: z.enum(["auto", "required"]),
          tools: z.array(z.looseObject({ type: z.string().min(1), name: z.string().optional() })),
        }),
      }),
    ])
    .nullish(),
  text: z
    .looseObject({
      format: byType({
        json_schema: z.looseObject({
          name: z.string().min(1),
          schema: z.record(z.string(), z.unknown()),
          description: z.string().nullish(),
          strict: z.boolean().nullish(),
        }),
      }).optional(),
      verbosity: z.enum(["low", "medium", "high"]).nullish(),
    })
    .nullish(),
  reasoning: z
    .looseObject({
      effort: z.string().nullish(),
      summary: z.string().nullish(),
      generate_summary: z.string().nullish(),
    })
    .nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  max_tool_calls: z.number().int().min(0).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  user: z.string().optional(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  include: z.array(z.string()).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  service_tier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.string().nullish(),
  safety_identifier: z.string().nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

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
}

const unsupported = (param: string, message: string) =>
  new GatewayError("unsupported_parameter", message, { param });

/** Hosted tools run by OpenAI itself: nothing in the gateway can run them, and there is no passthrough yet. */
function refuseTool(t: Json, i: number): never {
  throw unsupported(
    `tools[${i}]`,
    `The '${String(t.type)}' tool is not supported: Sluice serves function tools only (built-in tools run at OpenAI, and /v1/responses is not passed through to it).`,
  );
}

/** Parameters that need state Sluice does not keep (or a service it does not run): a 400 when set. */
const UNSERVED: Record<string, string> = {
  previous_response_id: "Sluice stores no responses yet: send the whole conversation in `input`.",
  conversation: "Sluice stores no conversations yet: send the whole conversation in `input`.",
  background: "Sluice stores no responses to poll.",
  prompt: "Sluice stores no prompt templates: send `instructions` and `input` instead.",
  moderation: "Sluice runs no moderation of responses.",
};

/** Checks that only known parameters are present and nothing needs stored state. */
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
function messagesOf(input: ResponsesRequest["input"], dropped: Set<string>): Json[] {
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
    } else if (type === "function_call") {
      const call = { id: it.call_id, type: "function", function: { name: it.name, arguments: it.arguments } };
      const last = out[out.length - 1];
      if (last?.role === "assistant") {
        last.tool_calls = [...((last.tool_calls as Json[] | undefined) ?? []), call];
        if (last.content === "") last.content = null;
      } else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      const output = it.output as string | Json[];
      out.push({ role: "tool", tool_call_id: it.call_id, content: textOf(output, `${at}.output`, dropped) });
    } else if (type === "reasoning") {
      dropped.add(at);
    } else if (type === "item_reference") {
      throw unsupported(
        at,
        `${at}: item_reference is not supported (Sluice stores no responses); send the item itself (with the AI SDK: providerOptions.openai.store = false).`,
      );
    } else {
      throw unsupported(
        `${at}.type`,
        `${at}: items of type '${type}' are not supported (they belong to built-in tools, which Sluice does not serve).`,
      );
    }
  });
  return out;
}

/** Responses' flat function tool → chat's nested one. */
const chatTool = (t: Json): Json => ({
  type: "function",
  function: {
    name: t.name,
    ...(t.description != null ? { description: t.description } : {}),
    ...(t.parameters != null ? { parameters: t.parameters } : {}),
    ...(t.strict != null ? { strict: t.strict } : {}),
  },
});

/** A Responses tool_choice → chat's; a hosted tool's choice is a 400. */
function chatToolChoice(choice: NonNullable<ResponsesRequest["tool_choice"]>): unknown {
  if (typeof choice === "string") return choice;
  const c = choice as Json;
  if (c.type === "function") return { type: "function", function: { name: c.name } };
  if (c.type === "allowed_tools") {
    const tools = (c.tools as Json[]).map((t, i) => {
      if (t.type !== "function" || typeof t.name !== "string")
        throw unsupported(
          `tool_choice.tools[${i}]`,
          `tool_choice.tools[${i}]: only function tools can be allowed.`,
        );
      return { type: "function", function: { name: t.name } };
    });
    return { type: "allowed_tools", allowed_tools: { mode: c.mode, tools } };
  }
  throw unsupported(
    "tool_choice",
    `tool_choice of type '${String(c.type)}' is not supported: Sluice serves function tools only.`,
  );
}

/** `text.format` → chat's `response_format`. */
function responseFormat(format: Json): Json {
  if (format.type !== "json_schema") return { type: format.type };
  const { type: _type, ...schema } = format;
  for (const k of ["description", "strict"]) if (schema[k] == null) delete schema[k];
  return { type: "json_schema", json_schema: schema };
}

/**
 * A Responses request → the canonical chat request (stream usage always asked for), the request parts it could
 * not carry (`include`, `input[2]`, …) and what the answer echoes. A 400 for unknown parameters, parameters that
 * need stored state, hosted tools and uploaded files.
 */
export function fromResponsesRequest(json: unknown): {
  body: Json & { model: string };
  stream: boolean;
  dropped: string[];
  echo: ResponsesEcho;
} {
  refuseUnserved(json);
  const req = parseBody(responsesRequestSchema, json);
  const dropped = new Set<string>();
  const tools = (req.tools ?? []) as Json[];
  tools.forEach((t, i) => {
    if (t.type !== "function") refuseTool(t, i);
  });
  const messages = messagesOf(req.input, dropped);
  if (req.instructions) messages.unshift({ role: "system", content: req.instructions });
  if (messages.length === 0) {
    const why = "Invalid request: input: there is no message to send.";
    throw new GatewayError("invalid_request", why, { param: "input" });
  }
  const body: Json & { model: string } = { model: req.model, messages };
  if (tools.length > 0) body.tools = tools.map(chatTool);
  if (req.tool_choice != null) body.tool_choice = chatToolChoice(req.tool_choice);
  const format = req.text?.format as Json | undefined;
  if (format && format.type !== "text") body.response_format = responseFormat(format);
  if (req.text?.verbosity != null) body.verbosity = req.text.verbosity;
  if (req.reasoning?.effort != null) body.reasoning_effort = req.reasoning.effort;
  if (req.max_output_tokens != null) body.max_completion_tokens = req.max_output_tokens;
  const carried =
    `parallel_tool_calls temperature top_p user service_tier prompt_cache_key prompt_cache_retention
    safety_identifier`.split(/\s+/) as (keyof ResponsesRequest)[];
  for (const k of carried) if (req[k] != null) body[k] = req[k];
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
    ["store", req.store === true],
    ["access_programs", j.access_programs != null],
    ["context_management", j.context_management != null],
    ["image", j.image != null],
    ["prompt_cache_options", j.prompt_cache_options != null],
  ];
  for (const [name, asked] of asks) if (asked) dropped.add(name);
  return { body, stream: req.stream === true, dropped: [...dropped], echo: echoOf(req, tools) };
}

function echoOf(req: ResponsesRequest, tools: Json[]): ResponsesEcho {
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
  };
}
