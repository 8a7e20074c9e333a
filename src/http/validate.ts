import type { z } from "zod";
import { GatewayError } from "./errors";

/** `messages[0].role` — the dotted path of a zod issue, as OpenAI names parameters. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** The path an issue is about; for an unknown field, the field itself (`providers.openai.baseURL`). */
function pathOf(issue: z.core.$ZodIssue): string {
  const key = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  return issuePath(key === undefined ? issue.path : [...issue.path, key]);
}

/**
 * A failed union (`system`: a string or blocks) as the issue of the branch that got furthest: the value was
 * meant for that branch, so `system[0].text: expected string` says more than `system: Invalid input`.
 */
function specific(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue | undefined;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      const deep = specific({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
      if (!best || deep.path.length > best.path.length) best = deep;
    }
  }
  return best && best.path.length > issue.path.length ? best : issue;
}

/** One line per issue: `providers.openai.baseUrl: Invalid URL`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(specific)
    .map((i) => `${pathOf(i) || "(root)"}: ${i.message}`)
    .join("; ");
}

/**
 * Validates a request body; a failure is a 400 naming the first offending parameter.
 *
 * @example const body = parseBody(chatRequestSchema, await readJson(c.req.raw))
 */
export function parseBody<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const param = first ? pathOf(specific(first)) : null;
  throw new GatewayError("invalid_request", `Invalid request: ${describeIssues(result.error)}`, {
    param: param || null,
  });
}

/** Reads a JSON body; anything unparseable is a 400 `invalid_json`. */
export async function readJson(req: Request): Promise<unknown> {
  return (await readJsonText(req)).json;
}

/** Reads a JSON body and keeps its text (passthrough sends the client's bytes on); a 400 `invalid_json` if unparseable. */
export async function readJsonText(req: Request): Promise<{ text: string; json: unknown }> {
  const text = await req.text();
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    throw new GatewayError(
      "invalid_json",
      "Request body is not valid JSON. Send a JSON object with Content-Type: application/json.",
    );
  }
}
