import * as z from "zod";

/**
 * An object tagged by `type` (a content part, a block, a tool choice): the types the gateway reads are checked
 * by their own schema, with issues at their own paths (`messages[0].content[1].text`); any other type passes
 * through untouched, so a field or block type the gateway does not know still reaches providers that do.
 *
 * @example const part = byType({ text: z.looseObject({ text: z.string() }) })
 */
export function byType(known: Record<string, z.ZodType>) {
  return z.looseObject({ type: z.string().min(1) }).superRefine((value, ctx) => {
    const schema = known[value.type];
    if (!schema) return;
    const result = schema.safeParse(value);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue });
  });
}
