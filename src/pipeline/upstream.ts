import { affinityOrder, cacheAffinity } from "../config/affinity";
import { orderTargets, type Route, type Target } from "../config/resolve";
import { GatewayError } from "../http/errors";
import { adapterFor } from "../providers";
import type { CallRequest, UpstreamErrorInfo } from "../providers/types";
import { type CheckedAnswer, checkAnswer } from "./answer";

export interface UpstreamSuccess {
  /** The answer: headers, and for streams the body (its first event already checked). */
  response: Response;
  /** JSON answers: the body's text and its parse, read and checked (see answer.ts). Null for streams. */
  read: CheckedAnswer["read"];
  target: Target;
  /** Attempts made after the first (retries and fallbacks). */
  retries: number;
  /** The answer is in the client's own wire format (a passthrough), not the canonical one. */
  passthrough: boolean;
}

/** Upstream statuses worth another try at the same target. */
const RETRYABLE = new Set([408, 409, 429, 500, 502, 503, 504, 529]);
/** Gateway errors that are an upstream's failure (an unreadable 2xx answer): retried and failed over like a 5xx. */
const FAILED_ANSWER = new Set(["upstream_invalid_response", "upstream_error"]);
/** Statuses that mean the request itself is wrong: no other target would take it either. */
const FINAL = new Set([400, 413, 422]);
const MAX_RETRY_AFTER_MS = 10_000;

/**
 * Sends a call along a route: each target in turn (fallback order; for loadbalance a weighted draw, or the
 * order its prompt prefix hashes to, see config/affinity.ts), each
 * tried up to `retry.attempts` times on retryable failures, each attempt given `timeoutMs` to answer with
 * headers. Returns the first 2xx; throws the last failure (an upstream error keeps its status and message).
 * A client disconnect aborts the attempt in flight and stops.
 */
export async function callUpstream(
  route: Route,
  request: CallRequest,
  clientSignal: AbortSignal,
): Promise<UpstreamSuccess> {
  let last: GatewayError | undefined;
  let tries = 0;
  // Load balancing keeps a conversation on the target that holds its prompt cache.
  const affinity =
    route.strategy === "loadbalance" && route.targets.length > 1 ? cacheAffinity(request.body) : null;
  const order = affinity ? affinityOrder(route, affinity) : orderTargets(route);
  for (const target of order) {
    const adapter = adapterFor(target.provider);
    // A target that speaks the client's format gets the client's request as it came (passthrough).
    const native =
      request.passthrough && adapter.passthrough && adapter.speaks === request.passthrough.format
        ? { send: adapter.passthrough.bind(adapter), req: request.passthrough }
        : null;
    // A request only its own format carries whole (built-in tools' items) goes to no target that translates.
    if (!native && request.untranslatable) continue;
    for (let attempt = 1; attempt <= route.retry.attempts; attempt++) {
      tries++;
      const ctrl = new AbortController();
      const onClientAbort = () => ctrl.abort(clientSignal.reason);
      clientSignal.addEventListener("abort", onClientAbort);
      const timer = setTimeout(
        () => ctrl.abort(new DOMException("timeout", "TimeoutError")),
        route.timeoutMs,
      );
      let retryAfterMs: number | undefined;
      try {
        const call = { ...request, target, signal: ctrl.signal };
        const passed = native ? await native.send(call, native.req) : null;
        const res = passed ?? (await adapter.send(call));
        clearTimeout(timer); // timeoutMs runs until the headers; reading the answer is not cut by it
        if (res.ok) {
          const wire = passed && native ? native.req.format : null;
          const answer = await checkAnswer(res, request.op, request.stream, target.providerName, wire);
          return { ...answer, target, retries: tries - 1, passthrough: wire !== null };
        }
        retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        last = fromUpstream(res, await adapter.readError(res), target);
        clientSignal.removeEventListener("abort", onClientAbort);
        if (FINAL.has(res.status)) throw last;
        if (!RETRYABLE.has(res.status)) break;
      } catch (e) {
        clientSignal.removeEventListener("abort", onClientAbort);
        if (last && e === last) throw withRetries(last, tries - 1);
        if (clientSignal.aborted)
          throw new GatewayError("upstream_error", "Client closed the request.", { status: 499 });
        const failedAnswer = e instanceof GatewayError && FAILED_ANSWER.has(e.code);
        // An adapter refused to translate the request (strict mode, an untranslatable field): a 4xx, final.
        if (e instanceof GatewayError && !failedAnswer) throw withRetries(e, tries - 1);
        last = failedAnswer
          ? (e as GatewayError)
          : ctrl.signal.aborted
            ? new GatewayError(
                "upstream_timeout",
                `Provider '${target.providerName}' did not answer within ${route.timeoutMs} ms.`,
              )
            : new GatewayError(
                "upstream_unreachable",
                `Provider '${target.providerName}' could not be reached.`,
              );
      } finally {
        clearTimeout(timer);
      }
      if (attempt < route.retry.attempts) {
        await sleep(Math.min(retryAfterMs ?? route.retry.backoffMs * 2 ** (attempt - 1), MAX_RETRY_AFTER_MS));
      }
    }
  }
  throw withRetries(
    last ?? request.untranslatable ?? new GatewayError("upstream_unreachable", "No provider answered."),
    tries - 1,
  );
}

/**
 * An upstream's error answer as the gateway's: status, message, type, code and Retry-After kept — except that
 * an upstream 401/403 (the provider refused Sluice's own credentials) becomes a 502, so that clients do not
 * take it for a problem with their Sluice key.
 */
function fromUpstream(res: Response, info: UpstreamErrorInfo, target: Target): GatewayError {
  const retryAfter = res.headers.get("retry-after");
  const headers: Record<string, string> = retryAfter ? { "retry-after": retryAfter } : {};
  if (res.status === 401 || res.status === 403) {
    return new GatewayError(
      "upstream_error",
      `Provider '${target.providerName}' refused the gateway's credentials (${res.status}): ${info.message}`,
      { status: 502, wireCode: "upstream_auth_failed", headers },
    );
  }
  return new GatewayError("upstream_error", info.message, {
    status: res.status,
    type: info.type ?? "upstream_error",
    wireCode: info.code ?? (res.status === 429 ? "upstream_rate_limited" : "upstream_error"),
    param: info.param ?? null,
    headers,
  });
}

function withRetries(e: GatewayError, retries: number): GatewayError {
  Object.assign(e.headers, { "x-sluice-retries": String(retries) });
  return e;
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
