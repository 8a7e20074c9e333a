import { chatRequestSchema } from "../formats/openai";
import { parseBody } from "../http/validate";
import type { InboundFormat } from "./types";

/** `POST /v1/chat/completions`: OpenAI chat is the canonical form, so answers and streams pass as they are. */
export const openAIChat: InboundFormat = {
  name: "chat",
  op: "chat",
  paths: ["/v1/chat/completions"],
  errorShape: "openai",
  canonical: true,
  parse(json) {
    const body = parseBody(chatRequestSchema, json);
    return { body, stream: body.stream === true, dropped: [] };
  },
  answer: (canonical) => canonical,
  stream: (canonical) => canonical,
  wantsUsageChunk: (call) =>
    (call.body.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true,
};
