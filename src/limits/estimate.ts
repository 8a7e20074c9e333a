import type { Route } from "../config/resolve";
import type { GatewayConfig } from "../config/schema";
import type { Operation } from "../providers/types";
import { costPicoUsd, pricesFor } from "../spend/pricing";

/** Tokens assumed per image part: above what providers bill for one image at their default detail. */
const IMAGE_TOKENS = 1600;
/** Framing tokens per message (role, separators). */
const MESSAGE_TOKENS = 4;
/** Characters per token assumed by the estimate: lower than the usual ~4, so the estimate errs high. */
const CHARS_PER_TOKEN = 3;

/** Characters of text and the number of images in a request part (messages, input, tools), walked once. */
function measure(v: unknown, acc: { chars: number; images: number }, depth = 0): void {
  if (depth > 64) return;
  if (typeof v === "string") {
    if (v.startsWith("data:")) acc.images++;
    else acc.chars += v.length;
  } else if (Array.isArray(v)) {
    for (const x of v) measure(x, acc, depth + 1);
  } else if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (o.type === "image_url" || o.type === "input_image") {
      acc.images++;
      return;
    }
    for (const x of Object.values(o)) measure(x, acc, depth + 1);
  } else if (typeof v === "number") {
    acc.chars += 2; // token ids (embeddings input) and numbers in tool schemas
  }
}

/**
 * An estimate of a request's input tokens, erring high: text at 3 characters a token, a flat allowance per
 * image, a few tokens per message. It is what TPM and budgets reserve before the call; the call's real usage
 * replaces it when it settles.
 */
export function estimateInputTokens(body: Record<string, unknown>, charsPerToken = CHARS_PER_TOKEN): number {
  const acc = { chars: 0, images: 0 };
  measure(body.messages, acc);
  measure(body.input, acc);
  measure(body.tools, acc);
  const messages = Array.isArray(body.messages) ? body.messages.length : 0;
  return Math.ceil(acc.chars / charsPerToken) + acc.images * IMAGE_TOKENS + messages * MESSAGE_TOKENS;
}

/** The client's output cap (`max_completion_tokens`, else `max_tokens`); null when it set none. */
export function outputCap(body: Record<string, unknown>): number | null {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null;
}

/**
 * The most a call can cost, in pico-USD: `inputTokens` in and `outputTokens` out at the dearest of the route's
 * targets (any of them may serve, through fallback or load balancing). Null when a target has no price.
 */
export function worstCostPusd(
  cfg: GatewayConfig,
  route: Route,
  op: Operation,
  inputTokens: number,
  outputTokens: number,
): { cost: number } | { unpriced: string } {
  let worst = 0;
  for (const t of route.targets) {
    const p = pricesFor(cfg, t, inputTokens);
    if (!p) return { unpriced: `${t.providerName}/${t.model}` };
    const out = op === "embeddings" ? 0 : outputTokens;
    const cost = costPicoUsd(
      {
        inputTokens,
        outputTokens: out,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: p.reasoning > p.output ? out : 0,
      },
      p,
    );
    worst = Math.max(worst, cost);
  }
  return { cost: worst };
}
