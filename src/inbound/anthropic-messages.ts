import {
  fromMessagesRequest,
  type MessagesEnvelope,
  messageBlocksSchema,
  messagesEnvelopeSchema,
  toAnthropicMessage,
  toAnthropicStream,
} from "../formats/anthropic";
import { parseBody } from "../http/validate";
import { anthropicUsage, canonicalOfMessage, watchAnthropicStream } from "./anthropic-wire";
import { deferredCall } from "./deferred";
import type { InboundFormat, ParsedCall } from "./types";

/**
 * A request whose envelope passed (messagesEnvelopeSchema) in the canonical form: its blocks checked (a 400
 * naming the field), then translated. `json` is the client's body the envelope was read from.
 */
export function translatedRequest(req: MessagesEnvelope, json: unknown) {
  const { messages, system } = parseBody(messageBlocksSchema, json);
  return fromMessagesRequest({ ...req, messages, system });
}

const VERSIONS = new Set(["2023-06-01", "2026-10-21"]);

/** The client's Anthropic API version (`anthropic-version`); 2023-06-01 when absent or unknown. */
const versionOf = (headers: Headers) => {
  const asked = headers.get("anthropic-version");
  return asked && VERSIONS.has(asked) ? asked : "2023-06-01";
};

/**
 * `POST /v1/messages`: Anthropic's wire format, routed to any provider through the canonical form — or passed
 * through as it came to a target that speaks it (Anthropic), its answer back untouched. Translated answers and
 * streams are written in the client's API version; every answer under `/v1/messages` is Anthropic-shaped.
 */
export const anthropicMessages: InboundFormat = {
  name: "messages",
  op: "chat",
  paths: ["/v1/messages"],
  errorShape: "anthropic",
  parse(json): ParsedCall {
    // What the gateway reads is checked now; the blocks, with the translation, when the canonical form is
    // read (a passthrough to an Anthropic target never reads it: the request goes as it came).
    const req = parseBody(messagesEnvelopeSchema, json);
    const known = { model: req.model, user: req.metadata?.user_id || undefined, stream: req.stream === true };
    return deferredCall(known, () => translatedRequest(req, json));
  },
  answer: (canonical, headers) =>
    JSON.stringify(toAnthropicMessage(JSON.parse(canonical) as Record<string, unknown>, versionOf(headers))),
  stream: (canonical, headers) => toAnthropicStream(canonical, versionOf(headers)),
  wantsUsageChunk: () => true,
  passthrough: {
    format: "anthropic",
    usage: (json) => anthropicUsage(json.usage),
    canonical: canonicalOfMessage,
    watch: watchAnthropicStream,
  },
};
