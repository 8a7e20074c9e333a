import { fromResponsesRequest, type ResponsesEcho } from "../formats/responses";
import { toResponse, toResponsesStream } from "../formats/responses-stream";
import { canonicalOfResponse, responsesUsage, watchResponsesStream } from "./responses-wire";
import type { InboundFormat, ParsedCall } from "./types";

type Json = Record<string, unknown>;

/**
 * What stores a request's answer (src/responses/conversations.ts), handed over by the route before the call:
 * `wants` is false when the conversation is already too large to store (the answer says `store: false` from its
 * first event); `keep` takes the final Response object, sets its `store` and stores it off the response path.
 */
export interface ResponseKeeper {
  readonly wants: boolean;
  /** `heldBy`: the provider that answered a passthrough, which holds the response upstream too. */
  keep(response: Json, heldBy?: string): void;
}

interface Session {
  echo: ResponsesEcho;
  keeper: ResponseKeeper | null;
}

/** Keepers by the request's Headers object, set by the route before `runCall`, read by `parse`. */
const keepers = new WeakMap<Headers, ResponseKeeper>();

/**
 * What each request's answer echoes and who stores it, by the request's Headers object: the pipeline hands
 * `answer` and `stream` the same Headers it handed `parse`, and nothing else of the request.
 */
const sessions = new WeakMap<Headers, Session>();

/** Makes `keeper` store the answer of the request whose headers these are (called by the route). */
export function keepAnswer(headers: Headers, keeper: ResponseKeeper): void {
  keepers.set(headers, keeper);
}

const sessionFor = (headers: Headers): Session =>
  sessions.get(headers) ?? {
    keeper: null,
    echo: {
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
      store: false,
      previous_response_id: null,
    },
  };

/**
 * `POST /v1/responses`: OpenAI's Responses API, routed to any provider through the canonical (chat) form
 * (formats/responses.ts); answers are Response objects, streams the Responses event stream
 * (formats/responses-stream.ts) — or passed through as it came to a target that serves the API itself
 * (responses-wire.ts watches its answer). The route (src/responses/handlers.ts) brings stored state in before `parse`
 * (previous_response_id expanded, item references resolved) and hands over the keeper that stores the answer;
 * without one (store: false) nothing is stored.
 */
export const openAIResponses: InboundFormat = {
  name: "responses",
  op: "chat",
  paths: ["/v1/responses"],
  errorShape: "openai",
  parse(json, headers): ParsedCall {
    const { body, stream, dropped, echo, untranslatable } = fromResponsesRequest(json);
    const keeper = keepers.get(headers) ?? null;
    echo.store = echo.store && keeper?.wants === true;
    sessions.set(headers, { echo, keeper: echo.store ? keeper : null });
    return { body, stream, dropped, untranslatable };
  },
  answer(canonical, headers) {
    const { echo, keeper } = sessionFor(headers);
    const response = toResponse(JSON.parse(canonical) as Json, echo);
    keeper?.keep(response);
    return JSON.stringify(response);
  },
  stream(canonical, headers) {
    const { echo, keeper } = sessionFor(headers);
    return toResponsesStream(canonical, echo, keeper ? (r) => keeper.keep(r) : undefined);
  },
  wantsUsageChunk: () => true,
  // OpenAI and Azure OpenAI serve the Responses API: their answers come back as they gave them, and are stored
  // here too (so a chain continues on a translated fallback), marked as held by the provider that answered.
  passthrough: {
    format: "openai-responses",
    usage: (json) => responsesUsage(json.usage),
    canonical: canonicalOfResponse,
    watch: watchResponsesStream,
    answered(headers, response, provider) {
      sessionFor(headers).keeper?.keep(response, provider);
    },
  },
};
