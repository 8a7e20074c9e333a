import { fromResponsesRequest, type ResponsesEcho } from "../formats/responses";
import { toResponse, toResponsesStream } from "../formats/responses-stream";
import type { InboundFormat, ParsedCall } from "./types";

/**
 * What each request's answer echoes, by the request's Headers object: the pipeline hands `answer` and `stream`
 * the same Headers it handed `parse`, and nothing else of the request.
 */
const echoes = new WeakMap<Headers, ResponsesEcho>();

const echoFor = (headers: Headers): ResponsesEcho =>
  echoes.get(headers) ?? {
    model: "",
    instructions: null,
    metadata: {},
    tools: [],
    tool_choice: "auto",
    text: { format: { type: "text" } },
    reasoning: { effort: null, summary: null },
    temperature: null,
    top_p: null,
    top_logprobs: null,
    parallel_tool_calls: true,
    max_output_tokens: null,
    max_tool_calls: null,
    truncation: "disabled",
    service_tier: null,
    prompt_cache_key: null,
    safety_identifier: null,
  };

/**
 * `POST /v1/responses`: OpenAI's Responses API, routed to any provider through the canonical (chat) form
 * (formats/responses.ts); answers are Response objects, streams the Responses event stream
 * (formats/responses-stream.ts). Stateless: nothing is stored, so nothing can be retrieved or continued.
 */
export const openAIResponses: InboundFormat = {
  op: "chat",
  paths: ["/v1/responses"],
  errorShape: "openai",
  parse(json, headers): ParsedCall {
    const { body, stream, dropped, echo } = fromResponsesRequest(json);
    echoes.set(headers, echo);
    return { body, stream, dropped };
  },
  answer: (canonical, headers) =>
    JSON.stringify(toResponse(JSON.parse(canonical) as Record<string, unknown>, echoFor(headers))),
  stream: (canonical, headers) => toResponsesStream(canonical, echoFor(headers)),
  wantsUsageChunk: () => true,
};
