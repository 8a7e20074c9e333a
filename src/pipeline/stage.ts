import type { Route } from "../config/resolve";
import type { Usage } from "../formats/usage";
import type { Operation } from "../providers/types";

/** What a stage sees of a call: its identity, the resolved route and the canonical request. */
export interface StageCall {
  requestId: string;
  keyId: string;
  op: Operation;
  route: Route;
  /** The canonical (OpenAI) request body; a stage may read it, not change it. */
  body: Readonly<Record<string, unknown>>;
  stream: boolean;
}

/** A stage's own answer to a call (a cache hit, a guardrail's refusal): canonical JSON, as an upstream's. */
export interface StageAnswer {
  /** A `chat.completion` or embeddings body. */
  text: string;
  /** Headers the answer carries (`x-sluice-cache: HIT`, …). */
  headers: Record<string, string>;
  usage: Usage | null;
}

/** How an upstream-served call ended, for stages that look at answers (cache fill, output guardrails). */
export interface StageOutcome {
  /** The canonical JSON answer; null for streams. */
  text: string | null;
  usage: Usage | null;
  completed: boolean;
}

/**
 * One step around the upstream call, plugged into `Services.stages` (the response cache and guardrails are
 * stages). Both hooks are optional; a call passes every stage's `before` in order after its model is resolved
 * and allowed and before limits are asked, and every stage's `after` once an upstream answer is complete.
 */
export interface Stage {
  readonly name: string;
  /**
   * May answer the call itself: then no limit is asked, nothing is sent upstream, and the answer is written in
   * the client's format (non-streaming calls only; a stream is always served upstream for now).
   */
  before?(call: StageCall): Promise<StageAnswer | null>;
  /** After an upstream answer, off the response path (inside `waitUntil`); errors are logged, not raised. */
  after?(call: StageCall, outcome: StageOutcome): Promise<void>;
}
