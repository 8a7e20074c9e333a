import { GatewayError } from "../http/errors";

/**
 * The tools of a Responses request (top-level `tools` and `additional_tools` input items) → canonical (chat)
 * function tools. Function tools translate; a `namespace` tool's function tools are flattened to
 * `<namespace>__<name>` (chat tool names allow only letters, digits, `_` and `-`, so no `ns.name`), and a call to one
 * is written back as a `function_call` with `name` and `namespace` apart, as the API answers it. Nothing else can run
 * on a chat target: built-in tools (web_search, file_search, …) run at OpenAI only, and `custom` (freeform / grammar)
 * tools have no chat equivalent; they are dropped and listed, unless `tool_choice` forces one (a 400 naming it).
 */

type Json = Record<string, unknown>;

/** The separator of a flattened namespace tool's name: `multi_agent_v1__spawn_agent`. */
export const NAMESPACE_SEPARATOR = "__";

/** Chat's rule for function names (OpenAI's, which other providers share). */
const CHAT_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A flattened tool's namespace and its own name, by its canonical name. */
export type Namespaced = Record<string, { namespace: string; name: string }>;

export interface ToolSet {
  /** The function tools as the Responses API spells them (flat), canonical names; what the answer echoes. */
  functions: Json[];
  namespaced: Namespaced;
}

/** The canonical name of a namespace's function. */
export const flatName = (namespace: string, name: string) => `${namespace}${NAMESPACE_SEPARATOR}${name}`;

/**
 * Collects the translatable tools of `tools` (under `at`, e.g. `tools` or `input[0].tools`) into `set`; every
 * other tool is listed in `dropped` by its path.
 */
export function collectTools(tools: Json[], at: string, set: ToolSet, dropped: Set<string>): void {
  const names = () => new Set(set.functions.map((f) => String(f.name)));
  tools.forEach((t, i) => {
    const path = `${at}[${i}]`;
    if (t.type === "function") {
      if (names().has(String(t.name))) dropped.add(path);
      else set.functions.push(t);
    } else if (t.type === "namespace" && typeof t.name === "string" && Array.isArray(t.tools)) {
      const ns = t.name;
      (t.tools as Json[]).forEach((inner, j) => {
        const name = flatName(ns, String(inner.name));
        if (inner.type !== "function" || !CHAT_NAME.test(name) || names().has(name)) {
          dropped.add(`${path}.tools[${j}]`);
          return;
        }
        set.functions.push({ ...inner, name });
        set.namespaced[name] = { namespace: ns, name: String(inner.name) };
      });
    } else dropped.add(path);
  });
}

const unsupported = (param: string, message: string) =>
  new GatewayError("unsupported_parameter", message, { param });

/** A Responses tool_choice → chat's; forcing a tool Sluice dropped (built-in, custom, …) is a 400 naming it. */
export function chatToolChoice(choice: unknown): unknown {
  if (typeof choice === "string") return choice;
  const c = choice as Json;
  if (c.type === "function") {
    const name = typeof c.namespace === "string" ? flatName(c.namespace, String(c.name)) : c.name;
    return { type: "function", function: { name } };
  }
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
  const what =
    typeof c.name === "string" ? `'${String(c.type)}' tool '${c.name}'` : `'${String(c.type)}' tool`;
  throw unsupported(
    "tool_choice",
    `tool_choice forces the ${what}, which only a Responses API target (OpenAI, Azure OpenAI) runs: on this target Sluice serves function tools only (custom tools have no chat equivalent).`,
  );
}

/** Responses' flat function tool → chat's nested one. */
export const chatTool = (t: Json): Json => ({
  type: "function",
  function: {
    name: t.name,
    ...(t.description != null ? { description: t.description } : {}),
    ...(t.parameters != null ? { parameters: t.parameters } : {}),
    ...(t.strict != null ? { strict: t.strict } : {}),
  },
});

/** A canonical tool call's name → the Response's `name` (+ `namespace` for a flattened namespace tool). */
export function responseName(name: string, namespaced: Namespaced | undefined): Json {
  const n = namespaced?.[name];
  return n ? { name: n.name, namespace: n.namespace } : { name };
}
