import type { ProviderConfig } from "../config/schema";
import { translateSse } from "../formats/chunks";
import { modelPath, toGeminiChat, toGeminiEmbed } from "./gemini-request";
import {
  authFailureAs401,
  fromEmbed,
  fromGenerateContent,
  geminiStream,
  readGeminiError,
} from "./gemini-response";
import { nativeAdapter } from "./native";
import type { ProviderAdapter, UpstreamCall } from "./types";

type Config = Extract<ProviderConfig, { type: "gemini" }>;

/** The Generative Language API, as @google/genai speaks it (API version v1beta). */
export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

/**
 * The `gemini` provider (Google's Generative Language API): chat through `:generateContent` and
 * `:streamGenerateContent?alt=sse`, embeddings through `:embedContent` / `:batchEmbedContents`, the key in
 * `x-goog-api-key`. Translation rules: gemini-request.ts, gemini-response.ts and gemini-schema.ts.
 */
export function geminiAdapter(p: Config): ProviderAdapter {
  const base = (p.baseUrl ?? GEMINI_BASE_URL).replace(/\/+$/, "");
  const headers = {
    "content-type": "application/json",
    ...(p.apiKey ? { "x-goog-api-key": p.apiKey } : {}),
    ...(p.headers ?? {}),
  };
  const url = (call: UpstreamCall, method: string) =>
    `${base}/${modelPath(call.target.model).split("/").map(encodeURIComponent).join("/")}:${method}`;
  const inner = nativeAdapter({
    strict: p.strict,
    request(call) {
      if (call.op === "embeddings") {
        const t = toGeminiEmbed(call.body, call.target.model);
        const method = t.batch ? "batchEmbedContents" : "embedContent";
        return { url: url(call, method), headers, body: JSON.stringify(t.body), dropped: t.dropped };
      }
      const t = toGeminiChat(call.body, call.target.model);
      const method = call.stream ? "streamGenerateContent?alt=sse" : "generateContent";
      return { url: url(call, method), headers, body: JSON.stringify(t.body), dropped: t.dropped };
    },
    completion: (json, call) =>
      call.op === "embeddings"
        ? fromEmbed(json as Record<string, unknown>, call.body, call.target.model)
        : fromGenerateContent(json as Record<string, unknown>, call.target.model),
    stream: (body, call) =>
      translateSse(body, geminiStream(), `chatcmpl-${crypto.randomUUID()}`, call.target.model),
    readError: readGeminiError,
  });
  return {
    send: async (call) => authFailureAs401(await inner.send(call)),
    readError: inner.readError,
  };
}
