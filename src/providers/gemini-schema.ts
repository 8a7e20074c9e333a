/**
 * JSON Schema (as OpenAI tools and `response_format.json_schema` carry it) → Gemini's `Schema`, the OpenAPI
 * 3.0 subset that `functionDeclarations[].parameters` and `generationConfig.responseSchema` accept. Google
 * rejects any other key ("Invalid JSON payload received. Unknown name …"), so the conversion is explicit:
 *
 * - kept: description, title, enum (values as strings), items, properties, required (only names that are
 *   properties), nullable, minimum, maximum, minItems, maxItems, minLength, maxLength, minProperties,
 *   maxProperties, pattern, default, example, propertyOrdering; `format` only where Gemini knows it
 *   (date-time, enum, int32, int64, float, double);
 * - converted: `type` upper-cased; `type: [T, "null"]` → T + `nullable`; several types → `anyOf`;
 *   `anyOf`/`oneOf` → `anyOf` (a `null` branch → `nullable`; a single branch is inlined); `allOf` merged;
 *   `const` → a one-value enum; `examples[0]` → `example`; local `$ref` (`#/$defs/…`, `#/definitions/…`)
 *   inlined, up to a depth of 8 (deeper refs become a plain OBJECT);
 * - stripped: everything else — `additionalProperties`, `$schema`, `$id`, `$defs`, `definitions`, `strict`,
 *   `not`, `patternProperties`, `uniqueItems`, `exclusiveMinimum`/`Maximum`, `multipleOf`, `readOnly`, …;
 *   an OBJECT's empty `properties` is left out (Gemini: "should be non-empty for OBJECT type").
 */

type Json = Record<string, unknown>;

const KEPT = [
  "description",
  "title",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "minProperties",
  "maxProperties",
  "pattern",
  "default",
  "example",
  "propertyOrdering",
  "nullable",
] as const;
const FORMATS = new Set(["date-time", "enum", "int32", "int64", "float", "double"]);
const MAX_REF_DEPTH = 8;

/** An enum value as Gemini's string enum holds it: a string as it is, anything else as its JSON text. */
const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Converts a JSON Schema to Gemini's Schema (see the module comment for the exact rules). */
export function toGeminiSchema(schema: unknown): Json {
  if (!isObject(schema)) return {};
  const defs = {
    ...(isObject(schema.definitions) ? schema.definitions : {}),
    ...(isObject(schema.$defs) ? schema.$defs : {}),
  };
  return convert(schema, defs, 0);
}

function convert(s: Json, defs: Json, depth: number): Json {
  if (typeof s.$ref === "string") {
    const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(s.$ref)?.[1];
    const target = name === undefined ? undefined : defs[name];
    if (!isObject(target) || depth >= MAX_REF_DEPTH) return { type: "OBJECT" };
    const { $ref: _ref, ...rest } = s;
    return convert({ ...target, ...rest }, defs, depth + 1);
  }
  const out: Json = {};
  for (const k of KEPT) if (s[k] !== undefined) out[k] = s[k];
  if (out.example === undefined && Array.isArray(s.examples) && s.examples.length > 0)
    out.example = s.examples[0];
  if (typeof s.format === "string" && FORMATS.has(s.format)) out.format = s.format;

  // Values from a client's JSON: a non-string type is ignored, a non-string enum value kept as its JSON text.
  const types = (Array.isArray(s.type) ? s.type : [s.type]).filter((t): t is string => typeof t === "string");
  if (types.includes("null")) out.nullable = true;
  const real = types.filter((t) => t !== "null");
  if (real.length === 1) out.type = (real[0] as string).toUpperCase();
  else if (real.length > 1) out.anyOf = real.map((t) => ({ type: t.toUpperCase() }));

  if (s.const !== undefined) {
    out.enum = [text(s.const)];
    out.type ??= "STRING";
  } else if (Array.isArray(s.enum)) {
    if (s.enum.includes(null)) out.nullable = true;
    out.enum = s.enum.filter((v) => v !== null).map(text);
    out.type ??= "STRING";
  }

  if (isObject(s.properties)) {
    const props = Object.entries(s.properties).filter(([, v]) => isObject(v));
    if (props.length > 0) {
      out.properties = Object.fromEntries(props.map(([k, v]) => [k, convert(v as Json, defs, depth)]));
      if (Array.isArray(s.required))
        out.required = s.required.filter((r) => typeof r === "string" && r in (out.properties as Json));
    }
    out.type ??= "OBJECT";
  }
  if (s.items !== undefined) {
    const items = Array.isArray(s.items) ? s.items[0] : s.items;
    if (isObject(items)) out.items = convert(items, defs, depth);
    out.type ??= "ARRAY";
  }

  const union = [
    ...(Array.isArray(s.anyOf) ? s.anyOf : []),
    ...(Array.isArray(s.oneOf) ? s.oneOf : []),
  ].filter(isObject);
  if (union.length > 0) {
    const branches = union.filter((b) => b.type !== "null").map((b) => convert(b, defs, depth));
    if (branches.length < union.length) out.nullable = true;
    if (branches.length === 1) Object.assign(out, branches[0], out.nullable ? { nullable: true } : {});
    else if (branches.length > 1) out.anyOf = branches;
  }
  if (Array.isArray(s.allOf)) {
    for (const part of s.allOf.filter(isObject).map((b) => convert(b, defs, depth))) merge(out, part);
  }
  return out;
}

/** `allOf`: properties and required lists united, other keys taken when not already set. */
function merge(into: Json, part: Json): void {
  for (const [k, v] of Object.entries(part)) {
    if (k === "properties" && isObject(into.properties) && isObject(v))
      into.properties = { ...into.properties, ...v };
    else if (k === "required" && Array.isArray(into.required) && Array.isArray(v))
      into.required = [...new Set([...into.required, ...v])];
    else into[k] ??= v;
  }
}
