import type { MountedFake } from "./upstream";

/**
 * A strict fake of Google's Generative Language API (v1beta), mounted with `installUpstreams().mount(...)`.
 *
 * It answers as the real API does (checked against @google/genai 2.32's types and REST reference):
 * - auth: `x-goog-api-key` (or `?key=`); none → 403 PERMISSION_DENIED, a wrong one → 400 API_KEY_INVALID;
 * - the body is parsed as the proto does: an unknown field anywhere is a 400 "Invalid JSON payload
 *   received. Unknown name …: Cannot find field.", as is a schema `type` outside the Type enum;
 * - then the request is checked: contents present and non-empty, roles only `user`/`model`, parts not empty
 *   and holding data, functionCall/functionResponse named, a function-response turn right after a
 *   function-call turn with as many parts, OBJECT schemas with non-empty `properties`, base64 inline data,
 *   `allowedFunctionNames` only with mode ANY, `thinkingLevel` and the thought-signature rule of Gemini 3;
 * - answers: `GenerateContentResponse` JSON, or SSE (`data: {…}\r\n\r\n`, no event names, no [DONE]) with
 *   thoughts first, text a few words per chunk, function calls whole, finishReason and full usage last;
 *   embeddings as `{embedding:{values}}` / `{embeddings:[{values}]}`; errors as `{"error":{code,message,status}}`.
 */

type Json = Record<string, unknown>;

export interface GeminiRequest {
  url: URL;
  /** The model named in the path (`gemini-2.5-flash`) and the method (`generateContent`, …). */
  model: string;
  method: string;
  headers: Record<string, string>;
  body: Json;
}

export interface GeminiReply {
  text?: string;
  /** A thought summary, sent as `thought: true` parts before the answer. */
  thought?: string;
  functionCalls?: { name: string; args: Json; id?: string; thoughtSignature?: string }[];
  /** Default STOP. */
  finishReason?: string;
  /** The prompt is blocked: no candidates, `promptFeedback.blockReason`. */
  blockReason?: string;
  usage?: {
    prompt?: number;
    candidates?: number;
    thoughts?: number;
    cached?: number;
    toolUsePrompt?: number;
  };
}

export interface GeminiFailure {
  status: number;
  googleStatus: string;
  message: string;
}

const TYPES = ["TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"];
const MODES = ["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"];

/** Message name → its fields: a nested message name, `[Name]` for repeated, `{Name}` for a map, or a scalar. */
const PROTO: Record<string, Record<string, string>> = {
  GenerateContentRequest: {
    model: "s",
    contents: "[Content]",
    systemInstruction: "Content",
    tools: "[Tool]",
    toolConfig: "ToolConfig",
    generationConfig: "GenerationConfig",
    safetySettings: "[SafetySetting]",
    cachedContent: "s",
    serviceTier: "s",
  },
  Content: { role: "s", parts: "[Part]" },
  Part: {
    text: "s",
    thought: "b",
    thoughtSignature: "s",
    inlineData: "Blob",
    fileData: "FileData",
    functionCall: "FunctionCall",
    functionResponse: "FunctionResponse",
    executableCode: "*",
    codeExecutionResult: "*",
    videoMetadata: "*",
    mediaResolution: "*",
    partMetadata: "*",
  },
  Blob: { mimeType: "s", data: "s" },
  FileData: { mimeType: "s", fileUri: "s" },
  FunctionCall: { id: "s", name: "s", args: "*" },
  FunctionResponse: { id: "s", name: "s", response: "*", parts: "*", willContinue: "b", scheduling: "s" },
  Tool: {
    functionDeclarations: "[FunctionDeclaration]",
    googleSearch: "*",
    googleSearchRetrieval: "*",
    codeExecution: "*",
    urlContext: "*",
    fileSearch: "*",
    googleMaps: "*",
    computerUse: "*",
  },
  FunctionDeclaration: {
    name: "s",
    description: "s",
    parameters: "Schema",
    parametersJsonSchema: "*",
    response: "Schema",
    responseJsonSchema: "*",
    behavior: "s",
  },
  Schema: {
    type: "type",
    format: "s",
    title: "s",
    description: "s",
    nullable: "b",
    enum: "[s]",
    maxItems: "n",
    minItems: "n",
    properties: "{Schema}",
    required: "[s]",
    minProperties: "n",
    maxProperties: "n",
    minLength: "n",
    maxLength: "n",
    pattern: "s",
    example: "*",
    anyOf: "[Schema]",
    propertyOrdering: "[s]",
    default: "*",
    items: "Schema",
    minimum: "n",
    maximum: "n",
  },
  ToolConfig: { functionCallingConfig: "FunctionCallingConfig", retrievalConfig: "*" },
  FunctionCallingConfig: { mode: "mode", allowedFunctionNames: "[s]" },
  SafetySetting: { category: "s", threshold: "s" },
  GenerationConfig: {
    stopSequences: "[s]",
    responseMimeType: "s",
    responseSchema: "Schema",
    responseJsonSchema: "*",
    responseModalities: "[s]",
    candidateCount: "n",
    maxOutputTokens: "n",
    temperature: "n",
    topP: "n",
    topK: "n",
    seed: "n",
    presencePenalty: "n",
    frequencyPenalty: "n",
    responseLogprobs: "b",
    logprobs: "n",
    enableEnhancedCivicAnswers: "b",
    speechConfig: "*",
    thinkingConfig: "ThinkingConfig",
    imageConfig: "*",
    mediaResolution: "s",
  },
  ThinkingConfig: { includeThoughts: "b", thinkingBudget: "n", thinkingLevel: "s" },
  EmbedContentRequest: {
    model: "s",
    content: "Content",
    taskType: "s",
    title: "s",
    outputDimensionality: "n",
  },
  BatchEmbedContentsRequest: { requests: "[EmbedContentRequest]" },
};

class Reject extends Error {
  constructor(readonly response: Response) {
    super("rejected");
  }
}

/** Google's error body. */
export function googleError(
  status: number,
  googleStatus: string,
  message: string,
  details?: Json[],
): Response {
  return new Response(
    JSON.stringify({
      error: { code: status, message, status: googleStatus, ...(details ? { details } : {}) },
    }),
    {
      status,
      headers: { "content-type": "application/json; charset=UTF-8" },
    },
  );
}

const invalid = (message: string, details?: Json[]): never => {
  throw new Reject(googleError(400, "INVALID_ARGUMENT", message, details));
};
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** Proto-JSON parsing: unknown names and wrong scalar kinds are rejected with the path Google reports. */
function parseProto(v: unknown, type: string, path: string): void {
  if (type === "*") return;
  if (type.startsWith("[")) {
    if (!Array.isArray(v))
      invalid(`Invalid JSON payload received. Proto field is not repeating, cannot start list.`);
    (v as unknown[]).forEach((x, i) => {
      parseProto(x, type.slice(1, -1), `${path}[${i}]`);
    });
    return;
  }
  if (type.startsWith("{")) {
    if (!isObject(v)) invalid(`Invalid JSON payload received. Expected an object at '${path}'.`);
    for (const [k, x] of Object.entries(v as Json)) parseProto(x, type.slice(1, -1), `${path}[${k}]`);
    return;
  }
  const where = path ? ` at '${path}'` : "";
  if (type === "s" && typeof v !== "string")
    invalid(`Invalid value${where} (TYPE_STRING), ${JSON.stringify(v)}`);
  if (type === "n" && typeof v !== "number" && !/^-?\d+(\.\d+)?$/.test(String(v)))
    invalid(`Invalid value${where} (TYPE_DOUBLE), ${JSON.stringify(v)}`);
  if (type === "b" && typeof v !== "boolean")
    invalid(`Invalid value${where} (TYPE_BOOL), ${JSON.stringify(v)}`);
  if (type === "type" && !TYPES.includes(String(v).toUpperCase()))
    invalid(
      `Invalid value${where} (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(v)}`,
    );
  if (type === "mode" && !MODES.includes(String(v)))
    invalid(
      `Invalid value${where} (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), ${JSON.stringify(v)}`,
    );
  const fields = PROTO[type];
  if (!fields) return;
  if (!isObject(v)) invalid(`Invalid JSON payload received. Expected an object${where}.`);
  for (const [k, x] of Object.entries(v as Json)) {
    const field = fields[k] ?? fields[camel(k)];
    if (!field) {
      const msg = `Invalid JSON payload received. Unknown name "${k}"${where}: Cannot find field.`;
      invalid(msg, [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: path, description: msg }],
        },
      ]);
    }
    if (x !== null) parseProto(x, field as string, path ? `${path}.${snake(camel(k))}` : snake(camel(k)));
  }
}

export class GeminiFake implements MountedFake {
  readonly requests: GeminiRequest[] = [];
  private replies: (GeminiReply | ((body: Json) => GeminiReply))[] = [];
  private defaultReply: GeminiReply | ((body: Json) => GeminiReply) = {};
  private failures: GeminiFailure[] = [];

  constructor(readonly opts: { apiKey: string; basePath?: string; chunkBytes?: number }) {}

  /** The answer for every later call (a function gets the request body). */
  reply(r: GeminiReply | ((body: Json) => GeminiReply)): this {
    this.defaultReply = r;
    return this;
  }

  /** The answer for the next call only. */
  replyOnce(r: GeminiReply | ((body: Json) => GeminiReply)): this {
    this.replies.push(r);
    return this;
  }

  /** The next call, once valid, fails with this status and Google error body. */
  failNext(f: GeminiFailure): this {
    this.failures.push(f);
    return this;
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const base = this.opts.basePath ?? "/v1beta";
    const m = new RegExp(`^${base}/models/([^/:]+):([A-Za-z]+)$`).exec(url.pathname);
    if (req.method !== "POST" || !m) {
      return new Response("<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>", { status: 404 });
    }
    const model = decodeURIComponent(m[1] as string);
    const method = m[2] as string;
    const headers = Object.fromEntries([...req.headers].map(([k, v]) => [k.toLowerCase(), v]));
    const raw = await req.text();
    const rec: GeminiRequest = { url, model, method, headers, body: {} };
    this.requests.push(rec);
    try {
      const key = headers["x-goog-api-key"] ?? url.searchParams.get("key");
      if (!key) {
        throw new Reject(
          googleError(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
          ),
        );
      }
      if (key !== this.opts.apiKey) {
        invalid("API key not valid. Please pass a valid API key.", [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "API_KEY_INVALID",
            domain: "googleapis.com",
            metadata: { service: "generativelanguage.googleapis.com" },
          },
        ]);
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        invalid(`Invalid JSON payload received. Unexpected token.\n${raw.slice(0, 20)}\n^`);
      }
      const kind = {
        generateContent: "GenerateContentRequest",
        streamGenerateContent: "GenerateContentRequest",
        embedContent: "EmbedContentRequest",
        batchEmbedContents: "BatchEmbedContentsRequest",
      }[method];
      if (!kind) throw new Reject(googleError(404, "NOT_FOUND", `Method not found: ${method}`));
      parseProto(body, kind, "");
      rec.body = body as Json;
      const failure = this.failures.shift();
      if (method === "embedContent" || method === "batchEmbedContents") {
        this.checkEmbed(rec);
        if (failure) return googleError(failure.status, failure.googleStatus, failure.message);
        return this.embed(rec);
      }
      this.checkGenerate(rec.body, model);
      if (failure) return googleError(failure.status, failure.googleStatus, failure.message);
      const script = this.replies.shift() ?? this.defaultReply;
      const reply = typeof script === "function" ? script(rec.body) : script;
      if (method === "generateContent") return json(this.response(rec.body, reply, model, "whole")[0]);
      const chunks = this.response(rec.body, reply, model, "stream");
      if (url.searchParams.get("alt") !== "sse") return json(chunks);
      return this.sse(chunks);
    } catch (e) {
      if (e instanceof Reject) return e.response;
      throw e;
    }
  }

  private checkGenerate(body: Json, model: string): void {
    const contents = (body.contents ?? []) as Json[];
    if (contents.length === 0) invalid("* GenerateContentRequest.contents: contents is not specified\n");
    const checkContent = (c: Json, path: string) => {
      const parts = (c.parts ?? []) as Json[];
      if (parts.length === 0)
        invalid(`* GenerateContentRequest.${path}.parts: contents.parts must not be empty.\n`);
      parts.forEach((p, j) => {
        const at = `GenerateContentRequest.${path}.parts[${j}]`;
        const data = [
          "text",
          "inlineData",
          "fileData",
          "functionCall",
          "functionResponse",
          "executableCode",
          "codeExecutionResult",
        ];
        if (!data.some((k) => p[k] !== undefined))
          invalid(`* ${at}.data: required oneof field 'data' must have one initialized field\n`);
        const fc = p.functionCall as Json | undefined;
        if (fc && !fc.name) invalid(`* ${at}.function_call.name: Name cannot be empty.\n`);
        const fr = p.functionResponse as Json | undefined;
        if (fr && !fr.name) invalid(`* ${at}.function_response.name: Name cannot be empty.\n`);
        const blob = p.inlineData as Json | undefined;
        if (blob && (!blob.mimeType || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(String(blob.data ?? ""))))
          invalid(
            `Invalid value at '${path}.parts[${j}].inline_data.data' (TYPE_BYTES), Base64 decoding failed`,
          );
      });
    };
    if (isObject(body.systemInstruction)) checkContent(body.systemInstruction, "system_instruction");
    contents.forEach((c, i) => {
      if (c.role !== undefined && c.role !== "user" && c.role !== "model")
        invalid("Please use a valid role: user, model.");
      checkContent(c, `contents[${i}]`);
      const calls = (c.parts as Json[]).filter((p) => p.functionCall);
      if (calls.length > 0 && /gemini-3/.test(model) && !calls[0]?.thoughtSignature) {
        invalid(
          `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${String((calls[0]?.functionCall as Json | undefined)?.name)}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
        );
      }
      const responses = (c.parts as Json[]).filter((p) => p.functionResponse).length;
      if (responses > 0) {
        const prev = ((contents[i - 1]?.parts ?? []) as Json[]).filter((p) => p.functionCall).length;
        if (prev === 0)
          invalid("Please ensure that function response turn comes immediately after a function call turn.");
        if (prev !== responses)
          invalid(
            "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.",
          );
      }
    });
    ((body.tools ?? []) as Json[]).forEach((t, i) => {
      ((t.functionDeclarations ?? []) as Json[]).forEach((d, j) => {
        const at = `GenerateContentRequest.tools[${i}].function_declarations[${j}]`;
        if (!/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/.test(String(d.name ?? "")))
          invalid(
            `* ${at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 128.\n`,
          );
        if (isObject(d.parameters)) checkSchema(d.parameters, `${at}.parameters`);
      });
    });
    const gen = (body.generationConfig ?? {}) as Json;
    if (isObject(gen.responseSchema)) {
      if (gen.responseMimeType !== "application/json")
        invalid(
          "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when response_schema is set.\n",
        );
      checkSchema(gen.responseSchema, "GenerateContentRequest.generation_config.response_schema");
    }
    const thinking = (gen.thinkingConfig ?? {}) as Json;
    if (thinking.thinkingLevel !== undefined && !/gemini-3/.test(model))
      invalid("Thinking level is not supported for this model.");
    const fcc = ((body.toolConfig as Json | undefined)?.functionCallingConfig ?? {}) as Json;
    if (Array.isArray(fcc.allowedFunctionNames) && fcc.mode !== "ANY" && fcc.mode !== "VALIDATED")
      invalid(
        "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: should only be set when the Mode is ANY.\n",
      );
  }

  private checkEmbed(rec: GeminiRequest): void {
    const one = (r: Json, at: string) => {
      const parts = ((r.content as Json | undefined)?.parts ?? []) as Json[];
      if (parts.length === 0) invalid(`* ${at}.content: contents is not specified\n`);
      if (r.model !== undefined && r.model !== `models/${rec.model}`)
        invalid(`* ${at}.model: Model names in the batch request must match the one in the URL.\n`);
    };
    if (rec.method === "embedContent") one(rec.body, "EmbedContentRequest");
    else {
      const reqs = (rec.body.requests ?? []) as Json[];
      if (reqs.length === 0) invalid("* BatchEmbedContentsRequest.requests: requests is not specified\n");
      reqs.forEach((r, i) => {
        if (r.model === undefined)
          invalid(`* BatchEmbedContentsRequest.requests[${i}].model: model is required\n`);
        one(r, `BatchEmbedContentsRequest.requests[${i}]`);
      });
    }
  }

  private embed(rec: GeminiRequest): Response {
    const vector = (r: Json, i: number) => {
      const dims = typeof r.outputDimensionality === "number" ? r.outputDimensionality : 8;
      return {
        values: Array.from({ length: dims }, (_, d) => Number((((i + 1) * (d + 1)) / 100).toFixed(4))),
      };
    };
    if (rec.method === "embedContent") return json({ embedding: vector(rec.body, 0) });
    return json({ embeddings: ((rec.body.requests ?? []) as Json[]).map(vector) });
  }

  /** The whole answer (one element) or its stream chunks. */
  private response(body: Json, reply: GeminiReply, model: string, mode: "whole" | "stream"): Json[] {
    const promptText = JSON.stringify([body.contents, body.systemInstruction ?? null]);
    const text = reply.text ?? (reply.functionCalls || reply.blockReason ? "" : "Hello from Gemini.");
    const u = reply.usage ?? {};
    const prompt = u.prompt ?? tokens(promptText);
    const candidates = u.candidates ?? (text ? tokens(text) : 0) + (reply.functionCalls?.length ?? 0) * 5;
    const usage = (cand: number, last: boolean): Json => ({
      promptTokenCount: prompt,
      ...(last || cand ? { candidatesTokenCount: cand } : {}),
      totalTokenCount: prompt + cand + (last ? (u.thoughts ?? 0) + (u.toolUsePrompt ?? 0) : 0),
      ...(u.cached ? { cachedContentTokenCount: u.cached } : {}),
      ...(last && u.thoughts ? { thoughtsTokenCount: u.thoughts } : {}),
      ...(u.toolUsePrompt ? { toolUsePromptTokenCount: u.toolUsePrompt } : {}),
      promptTokensDetails: [{ modality: "TEXT", tokenCount: prompt }],
    });
    const meta = { modelVersion: model, responseId: "fakeResp1" };
    if (reply.blockReason) {
      return [
        {
          promptFeedback: { blockReason: reply.blockReason, safetyRatings: [] },
          usageMetadata: usage(0, true),
          ...meta,
        },
      ];
    }
    const finish = reply.finishReason ?? "STOP";
    const thoughtParts = reply.thought ? [{ text: reply.thought, thought: true }] : [];
    const callParts = (reply.functionCalls ?? []).map((c) => ({
      functionCall: { name: c.name, args: c.args, ...(c.id ? { id: c.id } : {}) },
      ...(c.thoughtSignature ? { thoughtSignature: c.thoughtSignature } : {}),
    }));
    const candidate = (parts: Json[], last: boolean): Json => ({
      ...(parts.length > 0 ? { content: { parts, role: "model" } } : {}),
      ...(last ? { finishReason: finish } : {}),
      index: 0,
      ...(last && finish === "SAFETY"
        ? {
            safetyRatings: [
              { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true },
            ],
          }
        : {}),
    });
    if (mode === "whole") {
      const parts = [...thoughtParts, ...(text ? [{ text }] : []), ...callParts];
      return [{ candidates: [candidate(parts, true)], usageMetadata: usage(candidates, true), ...meta }];
    }
    const pieces: Json[][] = thoughtParts.map((p) => [p]);
    for (const w of text.match(/(?:\S+\s*){1,3}/g) ?? []) pieces.push([{ text: w }]);
    if (callParts.length > 0) pieces.push(callParts);
    if (pieces.length === 0) pieces.push([]);
    return pieces.map((parts, i) => {
      const last = i === pieces.length - 1;
      return {
        candidates: [candidate(parts, last)],
        usageMetadata: usage(last ? candidates : 0, last),
        ...meta,
      };
    });
  }

  private sse(chunks: Json[]): Response {
    const enc = new TextEncoder();
    const all = enc.encode(chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join(""));
    const size = this.opts.chunkBytes ?? all.length;
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < all.length; at += size) pieces.push(all.slice(at, at + size));
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = pieces[i++];
        if (p) c.enqueue(p);
        else c.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  }
}

function checkSchema(s: Json, at: string): void {
  if (
    String(s.type).toUpperCase() === "OBJECT" &&
    isObject(s.properties) &&
    Object.keys(s.properties).length === 0
  )
    invalid(`* ${at}.properties: should be non-empty for OBJECT type\n`);
  for (const [k, v] of Object.entries(isObject(s.properties) ? s.properties : {}))
    if (isObject(v)) checkSchema(v, `${at}.properties[${k}].value`);
  if (isObject(s.items)) checkSchema(s.items, `${at}.items`);
  if (Array.isArray(s.anyOf))
    s.anyOf.forEach((b, i) => {
      if (isObject(b)) checkSchema(b, `${at}.any_of[${i}]`);
    });
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json; charset=UTF-8" },
  });
}

export const GEMINI_ORIGIN = "https://generativelanguage.googleapis.com";
export const GEMINI_KEY = "AIza-test-key";

/** A gateway config with one gemini provider and aliases `chat` (gemini-2.5-flash) and `embed`. */
export function geminiConfig(provider: Json = {}): Json {
  return {
    providers: { gemini: { type: "gemini", apiKey: "env:GEMINI_API_KEY", ...provider } },
    models: {
      chat: { targets: [{ provider: "gemini", model: "gemini-2.5-flash" }] },
      embed: { targets: [{ provider: "gemini", model: "gemini-embedding-001" }] },
    },
  };
}
