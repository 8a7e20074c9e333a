import { GatewayError } from "../http/errors";
import { toGeminiSchema } from "./gemini-schema";
import { parseArguments, parseDataUrl, textOf, toolNameFor, withoutCacheMarkers } from "./translate";

/**
 * Canonical (OpenAI) request bodies → Gemini `generateContent` / `embedContent` bodies. Pure functions;
 * every client field either has a place in the result or is named in `dropped`.
 */

type Json = Record<string, unknown>;
type Part = Json;
interface Content {
  role: "user" | "model";
  parts: Part[];
}

/** A translated body and the canonical fields that had no place in it. */
export interface Translated {
  body: Json;
  dropped: string[];
}

/** Separates a tool-call id Sluice minted from the Gemini thought signature it carries back and forth. */
export const THOUGHT_MARK = "__thought__";
/** Google's documented placeholder for function calls whose thought signature is unknown (Gemini 3). */
const SKIP_SIGNATURE = "skip_thought_signature_validator";

/** Chat fields that translate, or that Sluice itself consumes; any other non-null field is dropped. */
const HANDLED = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "temperature",
  "top_p",
  "top_k",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "n",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "response_format",
  "tools",
  "tool_choice",
  "reasoning_effort",
]);

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isGemini3 = (model: string) => /(^|\/)gemini-3/.test(model);

/** An OpenAI chat body → a Gemini `GenerateContentRequest`. */
export function toGeminiChat(req: Json, model: string): Translated {
  const dropped = Object.keys(req).filter((k) => !HANDLED.has(k) && req[k] !== null && req[k] !== undefined);
  const messages = (req.messages as Json[]) ?? [];
  const system: Part[] = [];
  const contents: Content[] = [];
  const push = (role: Content["role"], parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    // Consecutive turns of one role merge: parallel tool results must share one turn.
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  messages.forEach((m, i) => {
    if (m.name !== undefined && m.role !== "function" && !dropped.includes("messages[].name"))
      dropped.push("messages[].name");
    switch (m.role) {
      case "system":
      case "developer": {
        // Each text part its own part of the system instruction, so the client's boundaries stay.
        const texts = Array.isArray(m.content)
          ? (m.content as Json[]).map((p) => (p.type === "text" ? String(p.text ?? "") : ""))
          : [textOf(m.content)];
        for (const text of texts) if (text) system.push({ text });
        break;
      }
      case "user":
        push("user", userParts(m.content, i));
        break;
      case "assistant":
        push("model", modelParts(m, i, model));
        break;
      case "tool":
      case "function": {
        const name = m.role === "function" ? m.name : toolNameFor(messages, i, m.tool_call_id);
        if (typeof name !== "string") {
          throw new GatewayError(
            "invalid_request",
            `messages[${i}]: tool_call_id '${String(m.tool_call_id)}' matches no earlier assistant tool call.`,
            { param: `messages[${i}].tool_call_id` },
          );
        }
        push("user", [{ functionResponse: { name, response: toolResponse(textOf(m.content)) } }]);
        break;
      }
    }
  });
  if (contents.length === 0) {
    throw new GatewayError("invalid_request", "Gemini needs at least one user or assistant message.", {
      param: "messages",
    });
  }
  // Gemini caches prompt prefixes by itself (implicit caching); Sluice's cache markers have no place here.
  dropped.push(...withoutCacheMarkers(req).dropped);
  const body: Json = { contents };
  if (system.length > 0) body.systemInstruction = { parts: system };
  const tools = toolsOf(req.tools, dropped);
  if (tools) body.tools = tools;
  const toolConfig = toolConfigOf(req.tool_choice, dropped);
  if (toolConfig) body.toolConfig = toolConfig;
  const gen = generationConfig(req, model, dropped);
  if (Object.keys(gen).length > 0) body.generationConfig = gen;
  return { body, dropped };
}

function userParts(content: unknown, i: number): Part[] {
  if (typeof content === "string") return content ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  return content.map((p: Json, j) => {
    const param = `messages[${i}].content[${j}]`;
    if (p.type === "text") return { text: String(p.text ?? "") };
    if (p.type === "image_url") {
      const url = String((p.image_url as Json | undefined)?.url ?? "");
      const data = parseDataUrl(url);
      if (data) return { inlineData: data };
      if (/^https?:\/\//.test(url)) return { fileData: { fileUri: url, mimeType: mimeOf(url) } };
      throw new GatewayError("invalid_request", `${param}: image_url must be a data: or http(s) URL.`, {
        param,
      });
    }
    if (p.type === "input_audio") {
      const a = (p.input_audio ?? {}) as Json;
      return {
        inlineData: { mimeType: `audio/${a.format === "mp3" ? "mp3" : "wav"}`, data: String(a.data ?? "") },
      };
    }
    if (p.type === "file") {
      const data = parseDataUrl(String((p.file as Json | undefined)?.file_data ?? ""));
      if (data) return { inlineData: data };
    }
    throw new GatewayError(
      "unsupported_parameter",
      `${param}: content part '${String(p.type)}' is not supported by Gemini.`,
      {
        param,
      },
    );
  });
}

/** A MIME type guessed from a URL's extension (Gemini's fileData wants one); images default to JPEG. */
function mimeOf(url: string): string {
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const known: Record<string, string> = {
    png: "image/png",
    gif: "image/gif",
    webp: "image/webp",
    heic: "image/heic",
    heif: "image/heif",
    pdf: "application/pdf",
  };
  return (ext && known[ext]) ?? "image/jpeg";
}

function modelParts(m: Json, i: number, model: string): Part[] {
  const parts: Part[] = [];
  const text = textOf(m.content);
  if (text) parts.push({ text });
  const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as Json[]) : [];
  calls.forEach((t, j) => {
    const fn = (t.function ?? {}) as Json;
    const part: Part = {
      functionCall: {
        name: String(fn.name),
        args: parseArguments(
          String(fn.arguments ?? ""),
          `messages[${i}].tool_calls[${j}].function.arguments`,
        ),
      },
    };
    const id = String(t.id ?? "");
    const at = id.indexOf(THOUGHT_MARK);
    if (at >= 0) part.thoughtSignature = id.slice(at + THOUGHT_MARK.length);
    else if (j === 0 && isGemini3(model)) part.thoughtSignature = SKIP_SIGNATURE;
    parts.push(part);
  });
  return parts;
}

/** A tool result as Gemini's `response` object: a JSON object as it is, anything else under `output`. */
function toolResponse(text: string): Json {
  try {
    const v: unknown = JSON.parse(text);
    if (isObject(v)) return v;
  } catch {
    // Plain text.
  }
  return { output: text };
}

function toolsOf(tools: unknown, dropped: string[]): Json[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  const declarations = tools.flatMap((t: Json) => {
    const fn = t.function as Json | undefined;
    if (t.type !== "function" || !fn) {
      if (!dropped.includes("tools")) dropped.push("tools");
      return [];
    }
    const decl: Json = { name: fn.name };
    if (typeof fn.description === "string") decl.description = fn.description;
    const params = toGeminiSchema(fn.parameters);
    if (params.properties) decl.parameters = params;
    return [decl];
  });
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : undefined;
}

function toolConfigOf(choice: unknown, dropped: string[]): Json | undefined {
  if (choice === undefined || choice === null) return undefined;
  const modes: Record<string, string> = { auto: "AUTO", none: "NONE", required: "ANY" };
  if (typeof choice === "string" && modes[choice]) return { functionCallingConfig: { mode: modes[choice] } };
  const name = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  if (typeof name === "string")
    return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [name] } };
  dropped.push("tool_choice");
  return undefined;
}

const THINKING_BUDGET: Record<string, number> = {
  none: 0,
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 24576,
  max: 24576,
};
const THINKING_LEVEL: Record<string, string> = {
  none: "MINIMAL",
  minimal: "MINIMAL",
  low: "LOW",
  medium: "MEDIUM",
  high: "HIGH",
  xhigh: "HIGH",
  max: "HIGH",
};

function generationConfig(req: Json, model: string, dropped: string[]): Json {
  const g: Json = {};
  const set = (key: string, v: unknown) => {
    if (v !== undefined && v !== null) g[key] = v;
  };
  set("temperature", req.temperature);
  set("topP", req.top_p);
  set("topK", req.top_k);
  set("maxOutputTokens", req.max_completion_tokens ?? req.max_tokens);
  if (typeof req.stop === "string") g.stopSequences = [req.stop];
  else if (Array.isArray(req.stop) && req.stop.length > 0) g.stopSequences = req.stop;
  if (typeof req.n === "number" && req.n > 1) dropped.push("n");
  set("seed", req.seed);
  set("presencePenalty", req.presence_penalty);
  set("frequencyPenalty", req.frequency_penalty);
  const rf = req.response_format;
  if (isObject(rf) && rf.type === "json_object") g.responseMimeType = "application/json";
  else if (isObject(rf) && rf.type === "json_schema") {
    g.responseMimeType = "application/json";
    const schema = isObject(rf.json_schema) ? rf.json_schema.schema : undefined;
    if (isObject(schema)) g.responseSchema = toGeminiSchema(schema);
  } else if (isObject(rf) && rf.type !== "text") dropped.push("response_format");
  const effort = req.reasoning_effort;
  if (typeof effort === "string") {
    if (isGemini3(model) && THINKING_LEVEL[effort])
      g.thinkingConfig = { thinkingLevel: THINKING_LEVEL[effort], includeThoughts: true };
    else if (THINKING_BUDGET[effort] !== undefined) {
      const budget = THINKING_BUDGET[effort];
      g.thinkingConfig =
        budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
    } else dropped.push("reasoning_effort");
  }
  return g;
}

/** An OpenAI embeddings body → `embedContent` (one input) or `batchEmbedContents` (several). */
export function toGeminiEmbed(req: Json, model: string): Translated & { batch: boolean } {
  const dropped = Object.keys(req).filter(
    (k) =>
      !["model", "input", "dimensions", "encoding_format"].includes(k) &&
      req[k] !== null &&
      req[k] !== undefined,
  );
  const input = req.input;
  const texts = typeof input === "string" ? [input] : Array.isArray(input) ? input : [];
  if (!texts.every((t): t is string => typeof t === "string")) {
    throw new GatewayError(
      "unsupported_parameter",
      "Gemini embeds text only: token-array input is not supported.",
      {
        param: "input",
      },
    );
  }
  const one = (text: string): Json => ({
    content: { parts: [{ text }] },
    ...(typeof req.dimensions === "number" ? { outputDimensionality: req.dimensions } : {}),
  });
  if (typeof input === "string") return { body: one(input), dropped, batch: false };
  return {
    body: { requests: texts.map((t) => ({ model: modelPath(model), ...one(t) })) },
    dropped,
    batch: true,
  };
}

/** `gemini-2.5-flash` → `models/gemini-2.5-flash`; a name that already has a collection prefix is kept. */
export function modelPath(model: string): string {
  return /^(models|tunedModels)\//.test(model) ? model : `models/${model}`;
}
