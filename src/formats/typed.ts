import * as z from "zod";

/** What every tagged object is checked for: an object with a non-empty string `type`. */
const tagged = z.looseObject({ type: z.string().min(1) });
type Tagged = z.infer<typeof tagged>;
/**
 * Its JSON Schema (what `z.toJSONSchema(tagged)` gives, written out: converting at load cost every isolate ~2 ms
 * of start-up), which the OpenAPI document shows for every tagged object; test/openapi checks the two agree.
 */
const taggedJsonSchema = {
  type: "object",
  properties: { type: { type: "string", minLength: 1 } },
  required: ["type"],
  additionalProperties: {},
};

const isTagged = (v: unknown): v is Tagged =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  typeof (v as { type?: unknown }).type === "string" &&
  (v as { type: string }).type.length > 0;

/**
 * An object tagged by `type` (a content part, a block, a tool choice): the types the gateway reads are checked
 * by their own schema, with issues at their own paths (`messages[0].content[1].text`); any other type passes
 * through untouched, so a field or block type the gateway does not know still reaches providers that do.
 * The value is checked once, by the schema of its type, and passed on as it came: parsing it first as a tagged
 * object too (a copy of every block, then thrown away) was a third of the validation of an agent's request.
 * In the OpenAPI document it reads as the tagged object it is.
 *
 * @example const part = byType({ text: z.looseObject({ text: z.string() }) })
 */
export function byType(known: Record<string, z.ZodType>) {
  return z
    .custom<Tagged>()
    .superRefine((value, ctx) => {
      const schema = isTagged(value) ? known[value.type] : tagged;
      if (schema) addIssues(ctx, schema, value);
    })
    .meta(taggedJsonSchema);
}

/**
 * Adds `schema`'s issues with `value`, if any, to a refinement's context, at their own paths: a value checked
 * by a plain test first, and by zod only where it fails, gets zod's words for what is wrong.
 */
export function addIssues(ctx: z.RefinementCtx, schema: z.ZodType, value: unknown): void {
  for (const issue of schema.safeParse(value).error?.issues ?? []) ctx.addIssue({ ...issue });
}
