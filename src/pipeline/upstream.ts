import type { Route, Target } from "../config/resolve";
import { GatewayError } from "../http/errors";
import { adapterFor } from "../providers";
import type { CallRequest, UpstreamErrorInfo } from "../providers/types";
import type { Breakers } from "../routing/breaker";
import type { Planned } from "../routing/plan";
import type { Observation } from "../routing/stats";
import { type CheckedAnswer, checkAnswer } from "./answer";

/** The answer (status and headers; its body read whole or held, see answer.ts) and who gave it. */
export type UpstreamSuccess = CheckedAnswer & {
  target: Target;
  /** Why the plan put the serving target where it stood (routing/plan.ts `Planned.why`). */
  why: string;
  /** Attempts made after the first (retries and fallbacks). */
  retries: number;
  /** The answer is in the client's own wire format (a passthrough), not the canonical one. */
  passthrough: boolean;
};

/** What a call's trip upstream reads besides the route and the request; injected so that tests can drive it. */
export interface UpstreamDeps {
  now(): number;
  /** Uniform in [0, 1): the jitter of backoffs. */
  random(): number;
  /** Waits `ms` (a backoff); rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** The targets to try, in order (routing/plan.ts). */
  plan(route: Route, request: CallRequest): Planned[];
  /** The targets' circuit breakers; null: none (calls made by the gateway itself). */
  breakers: Breakers | null;
  /** Where each attempt's outcome is told (routing/stats.ts: latency routing and /admin/health). */
  observe(targetId: string, o: Observation): void;
}

/** Gateway errors that are an upstream's failure (an unreadable 2xx answer): retried and failed over like a 5xx. */
const FAILED_ANSWER = new Set(["upstream_invalid_response", "upstream_error"]);
/** Statuses that mean the request itself is wrong: no other target would take it either. */
const FINAL = new Set([400, 413, 422]);
/** The longest backoff, and the most of an upstream's `Retry-After` honoured. */
const MAX_WAIT_MS = 10_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

/** The plain order (fallback as listed), for calls without a plan. */
const DECLARED = (route: Route): Planned[] => route.targets.map((target) => ({ target, why: "fallback" }));

export const DEFAULT_DEPS: UpstreamDeps = {
  now: Date.now,
  random: Math.random,
  sleep,
  plan: DECLARED,
  breakers: null,
  observe: () => {},
};

/** Why an attempt's own timer fired: the time to the headers, to the first token, or the call's deadline. */
type Limit = "headers" | "first-token" | "deadline";

/**
 * Sends a call along a route: the targets in the plan's order (routing/plan.ts: fallback, weighted
 * loadbalance, latency, cost, conditional rules, nested groups), each tried up to `retry.attempts` times on the
 * statuses of `retry.on`, with full-jitter backoff (random in 0…backoffMs·2ⁿ, an upstream's Retry-After honoured
 * up to 10 s). Each attempt gets `timeoutMs` to answer with headers and, when streaming, `firstTokenTimeoutMs`
 * (from its start) to send its first content event: a stream is held until then, so one that fails before it
 * fails over invisibly. Nothing runs past the call's deadline (`request.deadlineAt`): the call then ends with a
 * 504. A target whose breaker is open is skipped without waiting; every attempt's outcome goes to its breaker
 * and to the routing stats. Returns the first good answer; throws the last failure (an upstream error keeps its
 * status and message). A client disconnect aborts the attempt in flight and stops.
 */
export async function callUpstream(
  route: Route,
  request: CallRequest,
  clientSignal: AbortSignal,
  deps: UpstreamDeps = DEFAULT_DEPS,
): Promise<UpstreamSuccess> {
  let last: GatewayError | undefined;
  let tries = 0;
  let open = 0;
  const deadlineAt = request.deadlineAt ?? Number.POSITIVE_INFINITY;
  const pastDeadline = () =>
    new GatewayError(
      "upstream_timeout",
      `The call's deadline of ${route.deadlineMs} ms passed before any provider answered.`,
    );
  for (const { target, why } of deps.plan(route, request)) {
    const adapter = adapterFor(target.provider);
    // A target that speaks the client's format gets the client's request as it came (passthrough).
    const native =
      request.passthrough && adapter.passthrough && adapter.speaks === request.passthrough.format
        ? { send: adapter.passthrough.bind(adapter), req: request.passthrough }
        : null;
    // A request only its own format carries whole (built-in tools' items) goes to no target that translates.
    if (!native && request.untranslatable) continue;
    const breaker = route.breaker && deps.breakers ? { port: deps.breakers, settings: route.breaker } : null;
    for (let attempt = 1; attempt <= route.retry.attempts; attempt++) {
      if (breaker && !breaker.port.allow(target.id, breaker.settings).allowed) {
        open++;
        break;
      }
      const started = deps.now();
      if (started >= deadlineAt) throw withRetries(pastDeadline(), tries);
      tries++;
      const ctrl = new AbortController();
      const onClientAbort = () => ctrl.abort(clientSignal.reason);
      clientSignal.addEventListener("abort", onClientAbort);
      // Which limit ended the attempt (set when one fires; an object, as the closure assigns it).
      const timing: { limit: Limit } = { limit: "headers" };
      // One timer at a time: arming a limit replaces the last one and `disarm` clears it (a timer plus its
      // clear costs less than a timeout signal and its listener, and a cleared timer never fires). The attempt's
      // `finally` clears the last one, however the attempt ends.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const disarm = () => {
        if (timer === undefined) return;
        clearTimeout(timer);
        timer = undefined;
      };
      /** Sets the attempt's limit to `ms`, or to what is left of the deadline if that is sooner. */
      const arm = (kind: Limit, ms: number) => {
        const left = deadlineAt - deps.now();
        const limit: Limit = left <= ms ? "deadline" : kind;
        const wait = Math.max(0, Math.min(ms, left));
        disarm();
        if (!Number.isFinite(wait)) return;
        timer = setTimeout(() => {
          timing.limit = limit;
          ctrl.abort(new DOMException(limit, "TimeoutError"));
        }, wait);
      };
      arm("headers", route.timeoutMs);
      let retryAfterMs: number | undefined;
      let failed: boolean;
      try {
        const call = { ...request, target, signal: ctrl.signal };
        const passed = native ? await native.send(call, native.req) : null;
        const res = passed ?? (await adapter.send(call));
        const ttfbMs = deps.now() - started;
        // timeoutMs runs until the headers; a stream then has until its first token; reading is not cut after.
        if (res.ok && request.stream && route.firstTokenTimeoutMs !== null) {
          arm("first-token", route.firstTokenTimeoutMs - ttfbMs);
        } else if (res.ok && request.stream && Number.isFinite(deadlineAt)) {
          arm("deadline", Number.POSITIVE_INFINITY);
        } else disarm();
        if (res.ok) {
          const wire = passed && native ? native.req.format : null;
          const answer = await checkAnswer(res, request.op, request.stream, target.providerName, wire);
          breaker?.port.report(target.id, breaker.settings, true);
          deps.observe(target.id, { ttfbMs, ok: true });
          return { ...answer, target, why, retries: tries - 1, passthrough: wire !== null };
        }
        retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        last = fromUpstream(res, await adapter.readError(res), target);
        clientSignal.removeEventListener("abort", onClientAbort);
        // A request the upstream refuses as wrong says nothing against the upstream's health.
        failed = route.retry.on.includes(res.status) || res.status >= 500;
        breaker?.port.report(target.id, breaker.settings, !failed);
        deps.observe(target.id, { ttfbMs, ok: !failed, code: last.wireCode });
        if (FINAL.has(res.status)) throw last;
        if (!route.retry.on.includes(res.status)) break;
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
            ? timedOut(target, route, timing.limit)
            : new GatewayError(
                "upstream_unreachable",
                `Provider '${target.providerName}' could not be reached.`,
              );
        breaker?.port.report(target.id, breaker.settings, false);
        deps.observe(target.id, { ttfbMs: deps.now() - started, ok: false, code: last.wireCode });
        if (timing.limit === "deadline" && ctrl.signal.aborted) throw withRetries(last, tries - 1);
      } finally {
        disarm();
      }
      if (attempt < route.retry.attempts) {
        // Full jitter: anywhere from 0 to the doubling bound, so retrying clients do not arrive in step.
        const bound = Math.min(route.retry.backoffMs * 2 ** (attempt - 1), MAX_WAIT_MS);
        const wait = retryAfterMs !== undefined ? Math.min(retryAfterMs, MAX_WAIT_MS) : deps.random() * bound;
        // A wait that would outlast the deadline is not taken: the next target (if any) gets the time left.
        if (deps.now() + wait >= deadlineAt) break;
        await deps.sleep(wait, clientSignal).catch(() => {});
        if (clientSignal.aborted)
          throw new GatewayError("upstream_error", "Client closed the request.", { status: 499 });
      }
    }
  }
  if (!last && open > 0) {
    last = new GatewayError(
      "upstream_unavailable",
      `Every target of '${route.requested}' is failing (their circuit breakers are open); try again shortly.`,
    );
  }
  if (!last && deps.now() >= deadlineAt) last = pastDeadline();
  throw withRetries(
    last ?? request.untranslatable ?? new GatewayError("upstream_unreachable", "No provider answered."),
    Math.max(0, tries - 1),
  );
}

/** The timeout error of an attempt whose own timer fired. */
function timedOut(target: Target, route: Route, limit: Limit): GatewayError {
  const who = `Provider '${target.providerName}'`;
  const message =
    limit === "first-token"
      ? `${who} sent no first token within ${route.firstTokenTimeoutMs} ms.`
      : limit === "deadline"
        ? `The call's deadline of ${route.deadlineMs} ms passed while waiting for ${who.toLowerCase()}.`
        : `${who} did not answer within ${route.timeoutMs} ms.`;
  return new GatewayError("upstream_timeout", message);
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
