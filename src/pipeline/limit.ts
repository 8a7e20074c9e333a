import type { Route } from "../config/resolve";
import type { Usage } from "../formats/usage";
import { GatewayError } from "../http/errors";
import { budgeted, type Reservation, reserve, subjectsFor } from "../limits/enforce";
import { estimateInputTokens, outputCap, worstCostPusd } from "../limits/estimate";
import type { CallRequest } from "../providers/types";
import type { CallInput } from "./input";
import type { Services } from "./services";
import { callUpstream, type UpstreamSuccess } from "./upstream";

export interface LimitedCall {
  up: UpstreamSuccess;
  /** The call's hold on its limiters; null when the key has no limits. */
  reservation: Reservation | null;
}

/**
 * Calls upstream within the key's (team's, browser token's) limits. Without limits this is `callUpstream`
 * and costs nothing. Otherwise the limiters are asked to reserve the request's tokens and worst-case cost:
 * - strict (the default when a budget applies): the reservation is granted before anything is sent upstream;
 * - overlap: the upstream call starts at once alongside the check; the response is held until the check
 *   answers, and the upstream call is aborted when it is refused.
 * A budgeted chat call without an output cap gets `limits.defaultMaxTokens`, so its worst case is bounded.
 * When the upstream call fails after a grant, the reservation settles at zero cost (the request still counts
 * against the request rate).
 */
export async function limitedCall(
  s: Services,
  input: CallInput,
  route: Route,
  request: Omit<CallRequest, "env"> & { body: Record<string, unknown> & { model: string } },
): Promise<LimitedCall> {
  const { op, body } = request;
  const subjects = subjectsFor(input.key, input.token);
  const clientSignal = input.signal;
  if (subjects.length === 0) {
    return {
      up: await callUpstream(route, { ...request, env: s.env }, clientSignal, s.upstream),
      reservation: null,
    };
  }
  const cfg = s.config;
  const hasBudget = budgeted(subjects);
  let cap = outputCap(body);
  let sent: CallRequest = { ...request, env: s.env };
  if (hasBudget && cap === null && op === "chat") {
    cap = cfg.limits.defaultMaxTokens;
    // A passthrough gets the cap too, in its own format's field (see PassthroughRequest.outputCap).
    const passthrough = request.passthrough && { ...request.passthrough, outputCap: cap };
    sent = { ...sent, body: { ...body, max_completion_tokens: cap }, passthrough };
  }
  const inputTokens = estimateInputTokens(body);
  let costPusd = 0;
  if (hasBudget) {
    const worst = worstCostPusd(cfg, route, op, inputTokens, cap ?? 0);
    if ("unpriced" in worst) {
      throw new GatewayError(
        "model_unpriced",
        `This key has a budget, and '${worst.unpriced}' has no price, so its cost cannot be bounded. Add it under 'pricing' in the gateway config.`,
        { param: "model" },
      );
    }
    costPusd = worst.cost;
  }
  const ask = {
    id: input.requestId,
    tokens: inputTokens + (cap ?? 0),
    costPusd,
    ttlMs: cfg.limits.reservationTtlSeconds * 1000,
  };
  const mode = input.key.limitMode ?? (hasBudget ? "strict" : "overlap");
  const settleFailed = (r: Reservation) => s.waitUntil(r.settle(0, 0));

  if (mode === "strict") {
    const reservation = await reserve(s.limiters, subjects, ask);
    try {
      return {
        up: await callUpstream(route, sent, clientSignal, s.upstream),
        reservation,
      };
    } catch (e) {
      settleFailed(reservation);
      throw e;
    }
  }
  const abort = new AbortController();
  const upstream = callUpstream(route, sent, AbortSignal.any([clientSignal, abort.signal]), s.upstream);
  let reservation: Reservation;
  try {
    reservation = await reserve(s.limiters, subjects, ask);
  } catch (e) {
    abort.abort(e);
    upstream.then(
      // A stream is cancelled; a JSON answer was read whole already (its body is locked).
      (u) => u.held?.reader.cancel().catch(() => {}),
      () => {},
    );
    throw e;
  }
  try {
    return { up: await upstream, reservation };
  } catch (e) {
    settleFailed(reservation);
    throw e;
  }
}

/** Tokens a settled call used, for the minute window. */
export const usedTokens = (u: Usage | null) => (u ? u.inputTokens + u.outputTokens : 0);
