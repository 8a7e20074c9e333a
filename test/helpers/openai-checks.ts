/**
 * The OpenAI fake's checks of what lies inside a chat request (test/helpers/upstream.ts): message, content
 * part and tool fields, part types by role, and strict json_schema response formats, each failing with the
 * 400 OpenAI answers (a BadRequest the fake turns into OpenAI's error body).
 */

type Json = Record<string, unknown>;

/** A 400 `invalid_request_error` with OpenAI's message, param and code. */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }
}

function fail(
  _status: 400,
  message: string,
  opts: { param?: string | null; code?: string | null } = {},
): never {
  throw new BadRequest(message, opts.param ?? null, opts.code ?? null);
}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The fields of a chat message, and of each content part and tool, that OpenAI knows. */
const MESSAGE_FIELDS = new Set([
  "role",
  "content",
  "name",
  "tool_calls",
  "tool_call_id",
  "function_call",
  "refusal",
  "audio",
]);
const PART_FIELDS: Record<string, string[]> = {
  text: ["type", "text"],
  image_url: ["type", "image_url"],
  input_audio: ["type", "input_audio"],
  file: ["type", "file"],
  refusal: ["type", "refusal"],
};
/** The part types each role's array content may hold. */
const PART_TYPES: Record<string, string[]> = {
  system: ["text"],
  developer: ["text"],
  tool: ["text"],
  user: ["text", "image_url", "input_audio", "file"],
  assistant: ["text", "refusal"],
};
const TOOL_FIELDS = ["type", "function"];
const FUNCTION_FIELDS = ["name", "description", "parameters", "strict"];

/** OpenAI's answer to a field it does not know, nested or not: `Unknown parameter: 'messages[0].cache_control'.` */
function unknownFields(o: Json, known: Iterable<string>, path: string): void {
  const allowed = new Set(known);
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) {
      fail(400, `Unknown parameter: '${path}.${k}'.`, { param: `${path}.${k}`, code: "unknown_parameter" });
    }
  }
}

/** A message's content, checked as OpenAI does: a string, or a non-empty array of the role's part types. */
function validateContent(m: Json, i: number): void {
  const content = m.content;
  const at = `messages[${i}].content`;
  if (content === undefined || content === null || typeof content === "string") return;
  if (!Array.isArray(content)) {
    fail(
      400,
      `Invalid type for '${at}': expected one of a string or array of objects, but got ${typeName(content)} instead.`,
      { param: at, code: "invalid_type" },
    );
  }
  if (content.length === 0) {
    fail(
      400,
      `Invalid '${at}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
      { param: at, code: "empty_array" },
    );
  }
  const types = PART_TYPES[String(m.role)] ?? [];
  content.forEach((p: unknown, j: number) => {
    const pat = `${at}[${j}]`;
    if (!isObject(p))
      fail(400, `Invalid type for '${pat}': expected an object, but got ${typeName(p)} instead.`, {
        param: pat,
        code: "invalid_type",
      });
    if (!types.includes(String(p.type))) {
      fail(
        400,
        `Invalid value: '${String(p.type)}'. Supported values are: ${types.map((t) => `'${t}'`).join(", ")}.`,
        { param: `${pat}.type`, code: "invalid_value" },
      );
    }
    unknownFields(p, PART_FIELDS[String(p.type)] ?? [], pat);
    if (p.type === "text" && typeof p.text !== "string") {
      fail(400, `Missing required parameter: '${pat}.text'.`, {
        param: `${pat}.text`,
        code: "missing_required_parameter",
      });
    }
  });
}

/**
 * A strict json_schema as OpenAI's Structured Outputs require it: every object closes with
 * `additionalProperties: false` and lists every property as required.
 */
function validateStrictSchema(schema: unknown, name: string, context: string[] = []): void {
  if (Array.isArray(schema)) {
    for (const s of schema) validateStrictSchema(s, name, context);
    return;
  }
  if (!isObject(schema)) return;
  const where = `Invalid schema for response_format '${name}': In context=(${context.map((c) => `'${c}'`).join(", ")})`;
  const opts = { param: "response_format", code: "invalid_json_schema" };
  if (schema.type === "object" || isObject(schema.properties)) {
    if (schema.additionalProperties !== false) {
      fail(400, `${where}, 'additionalProperties' is required to be supplied and to be false.`, opts);
    }
    const keys = Object.keys(isObject(schema.properties) ? schema.properties : {});
    const required = Array.isArray(schema.required) ? schema.required : [];
    const missing = keys.find((k) => !required.includes(k));
    if (missing !== undefined) {
      fail(
        400,
        `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`,
        opts,
      );
    }
  }
  for (const [k, v] of Object.entries(schema)) {
    if (k === "properties" && isObject(v)) {
      for (const [p, s] of Object.entries(v)) validateStrictSchema(s, name, [...context, "properties", p]);
    } else if (typeof v === "object" && v !== null) validateStrictSchema(v, name, [...context, k]);
  }
}

/** A message's own fields and its content. */
export function checkMessage(m: Json, i: number): void {
  unknownFields(m, MESSAGE_FIELDS, `messages[${i}]`);
  validateContent(m, i);
}

/** A tool's fields and its function's (the tool is known to have a named function). */
export function checkTool(t: Json, i: number): void {
  unknownFields(t, TOOL_FIELDS, `tools[${i}]`);
  unknownFields(t.function as Json, FUNCTION_FIELDS, `tools[${i}].function`);
}

/** A `json_schema` response format: a valid name, and a strict schema when `strict` is on. */
export function checkResponseFormat(rf: unknown): void {
  if (isObject(rf) && rf.type === "json_schema") {
    const js = rf.json_schema;
    if (!isObject(js) || typeof js.name !== "string") {
      fail(400, "Missing required parameter: 'response_format.json_schema.name'.", {
        param: "response_format.json_schema.name",
        code: "missing_required_parameter",
      });
    }
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(js.name)) {
      fail(
        400,
        `Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
        {
          param: "response_format.json_schema.name",
          code: "invalid_value",
        },
      );
    }
    if (js.strict === true) validateStrictSchema(js.schema, js.name);
  }
}
