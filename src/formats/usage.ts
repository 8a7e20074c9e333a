/** Token counts of one call, in the gateway's own terms (every provider's usage is mapped to this). */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens: number;
  /** Input tokens written to the provider's prompt cache (part of inputTokens). */
  cacheWriteTokens: number;
  /** Of those, the ones written for an hour (Anthropic's `ephemeral_1h`), priced apart; 0 or absent otherwise. */
  cacheWrite1hTokens?: number;
  /** Reasoning tokens (part of outputTokens). */
  reasoningTokens: number;
}

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    cache_creation_tokens?: number;
    cache_creation_1h_tokens?: number;
  } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Maps an OpenAI `usage` object (chat or embeddings); null when there is none. */
export function fromOpenAIUsage(u: unknown): Usage | null {
  if (typeof u !== "object" || u === null) return null;
  const o = u as OpenAIUsage;
  return {
    inputTokens: n(o.prompt_tokens),
    outputTokens: n(o.completion_tokens),
    cachedInputTokens: n(o.prompt_tokens_details?.cached_tokens),
    cacheWriteTokens: n(o.prompt_tokens_details?.cache_creation_tokens),
    cacheWrite1hTokens: n(o.prompt_tokens_details?.cache_creation_1h_tokens),
    reasoningTokens: n(o.completion_tokens_details?.reasoning_tokens),
  };
}
