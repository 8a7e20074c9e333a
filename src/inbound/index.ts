import { anthropicMessages } from "./anthropic-messages";
import { openAIChat } from "./openai-chat";
import { openAIEmbeddings } from "./openai-embeddings";
import { openAIResponses } from "./openai-responses";
import { type InboundFormat, owns } from "./types";

/** Every inbound format the gateway serves. */
export const FORMATS: readonly InboundFormat[] = [
  openAIChat,
  openAIEmbeddings,
  anthropicMessages,
  openAIResponses,
];

/** The format owning a path (its errors are in that format's shape), if any. */
export const formatOf = (path: string): InboundFormat | undefined => FORMATS.find((f) => owns(f, path));

export type { InboundFormat, ParsedCall } from "./types";
export { anthropicMessages, openAIChat, openAIEmbeddings };
