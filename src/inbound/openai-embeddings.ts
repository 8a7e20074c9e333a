import { embeddingsRequestSchema } from "../formats/openai";
import { parseBody } from "../http/validate";
import type { InboundFormat } from "./types";

/** `POST /v1/embeddings`: OpenAI embeddings, never streamed. */
export const openAIEmbeddings: InboundFormat = {
  name: "embeddings",
  op: "embeddings",
  paths: ["/v1/embeddings"],
  errorShape: "openai",
  canonical: true,
  parse: (json) => ({ body: parseBody(embeddingsRequestSchema, json), stream: false, dropped: [] }),
  answer: (canonical) => canonical,
  stream: (canonical) => canonical,
  wantsUsageChunk: () => false,
};
