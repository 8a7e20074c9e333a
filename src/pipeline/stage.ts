import type { Route } from "../config/resolve";
import type { Usage } from "../formats/usage";
import type { Operation } from "../providers/types";
import type { CallRecord } from "../spend/record";

/** What a stage sees of a call: its identity, the resolved route and the canonical request. */
export interface StageCall {
  requestId: string;
  keyId: string;
  team: string | null;
  /** The end user: the browser token's user, else the request's `user` (client-named). */
  endUser: string | null;
  op: Operation;
  route: Route;
  /** The canonical (OpenAI) request body; a stage may read it, not change it. */
  body: Readonly<Record<string, unknown>>;
  stream: boolean;
  /** The client's request headers. */
  headers: Headers;
  /** Request parts the client's format could not carry into the canonical form. */
  dropped: readonly string[];
  /**
   * The canonical `body` leaves out parts of the request (`dropped`, or parts only its own format carries) that
   * a target on this route would receive as they came (a passthrough): the body does not identify the request,
   * so nothing may be answered from it or stored under it (the cache bypasses).
   */
  lossy: boolean;
  /** What stages decided for the answer: its `x-sluice-cache` value (and record column), extra headers. */
  notes: {
    cache: CallRecord["cache"];
    headers: Record<string, string>;
    /** A stage wants a streamed answer whole in its `after` (`StageOutcome.text`): the stream is assembled. */
    wantsText: boolean;
  };
}

/** A stage's own answer to a call (a cache hit, a guardrail's refusal): canonical JSON, as an upstream's. */
export interface StageAnswer {
  /** A `chat.completion` or embeddings body; replayed as a stream when the call streams. */
  text: string;
  /** Headers the answer carries (`x-sluice-cache: HIT`, …). */
  headers: Record<string, string>;
  /** The record's `cache` column and the cost the answer saved (cache hits). */
  cache: CallRecord["cache"];
  savedPicoUsd: number;
}

/** How an upstream-served call ended, for stages that look at answers (cache fill, output guardrails). */
export interface StageOutcome {
  /** The canonical JSON answer (a stream's assembled, when `notes.wantsText`); null otherwise or if cut. */
  text: string | null;
  usage: Usage | null;
  completed: boolean;
  costPicoUsd: number | null;
  provider: string;
  model: string;
}

/**
 * One step around the upstream call, plugged into `Services.stages` (the response cache and guardrails are
 * stages). Every hook is optional; a call passes every stage's `before` in order after its model is resolved
 * and allowed and before limits are asked, and then exactly one of `after` (an upstream answer is complete)
 * or `failed` (the call ended without one), off the response path.
 */
export interface Stage {
  readonly name: string;
  /** May answer the call itself: then no limit is asked, nothing is sent upstream. */
  before?(call: StageCall): Promise<StageAnswer | null>;
  /** After an upstream answer, inside `waitUntil`; errors are logged, not raised. */
  after?(call: StageCall, outcome: StageOutcome): Promise<void> | undefined;
  /** The call failed (refused, upstream error) after `before` let it through. */
  failed?(call: StageCall): void;
}
