import type { Context } from "hono";
import { type Route, resolveModel } from "../config/resolve";
import { type Usage, usageOfJson } from "../formats/usage";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { assertModelAllowed, assertTokenModel } from "../keys/allow";
import type { Reservation } from "../limits/enforce";
import { estimateInputTokens } from "../limits/estimate";
import { DROPPED_HEADER } from "../providers/native";
import type { Operation } from "../providers/types";
import { recordCall } from "../spend/client";
import { costPicoUsd, formatUsd, pricesFor } from "../spend/pricing";
import type { CallRecord } from "../spend/record";
import { requestMetadata } from "../spend/row";
import { limitedCall, usedTokens } from "./limit";
import type { UpstreamSuccess } from "./upstream";

/** The part of a proxied call every route shares: resolve → allow → call upstream → headers → record. */
export interface ProxyCall {
  route: Route;
  up: UpstreamSuccess;
  /** Headers every proxied success carries. */
  headers: Record<string, string>;
  /** Records the call once its usage is known (off the response path, via waitUntil). */
  finish(
    outcome: Promise<{
      usage: Usage | null;
      completed: boolean;
      streamedChars?: number;
      error?: string | null;
    }>,
  ): void;
  /** Reads a JSON answer whole, adds `x-sluice-cost-usd` to `headers` (when priced) and records the call. */
  text(): Promise<string>;
  /** A streaming response around `body` with SSE headers and the proxied-call headers. */
  sse(body: ReadableStream<Uint8Array>): Response;
}

export async function proxy(
  c: Context<AppEnv>,
  op: Operation,
  body: Record<string, unknown> & { model: string },
  stream: boolean,
): Promise<ProxyCall> {
  const started = Date.now();
  const base = {
    requestId: c.var.requestId,
    clientRequestId: c.var.clientRequestId,
    startedAt: started,
    keyId: c.var.key.id,
    team: c.var.key.team,
    endUser: c.var.token?.user ?? (typeof body.user === "string" ? body.user : null),
    metadata: null as Record<string, unknown> | null,
    model: body.model,
    op,
    stream,
    cache: "BYPASS",
    savedPicoUsd: 0,
  } satisfies Partial<CallRecord>;
  const record = (rec: CallRecord) => recordCall(c.env, c.var.config, rec);
  const fail = (e: GatewayError) =>
    c.executionCtx.waitUntil(
      record({
        ...base,
        provider: null,
        upstreamModel: null,
        targetIndex: null,
        retries: Number(e.headers["x-sluice-retries"] ?? 0),
        status: e.status,
        errorCode: e.wireCode,
        usage: null,
        costPicoUsd: 0,
        completed: false,
        latencyMs: Date.now() - started,
        ttfbMs: null,
      }),
    );
  let route: Route;
  let up: UpstreamSuccess;
  let reservation: Reservation | null;
  try {
    // Refusals from here on (unknown or forbidden model, bad metadata, limits, upstream failures) leave a row.
    base.metadata = requestMetadata(c.req.raw.headers);
    route = resolveModel(c.var.config, body.model);
    assertModelAllowed(c.var.key, body.model);
    if (c.var.token) assertTokenModel(c.var.token, body.model);
    ({ up, reservation } = await limitedCall(c, route, op, body, stream));
  } catch (e) {
    if (e instanceof GatewayError) fail(e);
    throw e;
  }
  const ttfbMs = Date.now() - started;
  const headers: Record<string, string> = {
    "x-sluice-provider": up.target.providerName,
    "x-sluice-model": up.target.model,
    "x-sluice-cache": "BYPASS",
    "x-sluice-retries": String(up.retries),
  };
  if (reservation) Object.assign(headers, reservation.headers);
  const dropped = up.response.headers.get(DROPPED_HEADER);
  if (dropped) headers[DROPPED_HEADER] = dropped;
  const cost = (usage: Usage | null): number | null => {
    const prices = usage ? pricesFor(c.var.config, up.target, usage.inputTokens) : null;
    return usage && prices ? costPicoUsd(usage, prices) : null;
  };
  const finish: ProxyCall["finish"] = (outcome) => {
    c.executionCtx.waitUntil(
      outcome.then(async ({ usage: reported, completed, streamedChars, error }) => {
        // A stream cut before its usage chunk: what streamed, estimated (input from the request, output from text).
        const usage = reported ?? (stream && !completed ? estimatedUsage(body, streamedChars ?? 0) : null);
        const costPusd = cost(usage);
        await Promise.all([
          reservation?.settle(usedTokens(usage), costPusd),
          record({
            ...base,
            provider: up.target.providerName,
            upstreamModel: up.target.model,
            targetIndex: route.targets.indexOf(up.target),
            retries: up.retries,
            status: up.response.status,
            errorCode: error ?? null,
            usage,
            costPicoUsd: costPusd,
            completed,
            latencyMs: Date.now() - started,
            ttfbMs,
          }),
        ]);
      }),
    );
  };
  const text = async () => {
    let t: string;
    try {
      t = up.text ?? (await up.response.text());
    } catch (e) {
      finish(Promise.resolve({ usage: null, completed: false }));
      throw e;
    }
    const usage = usageOfJson(t);
    const usd = cost(usage);
    if (usd !== null) headers["x-sluice-cost-usd"] = formatUsd(usd);
    finish(Promise.resolve({ usage, completed: true }));
    return t;
  };
  const sse = (stream: ReadableStream<Uint8Array>) =>
    new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        ...headers,
      },
    });
  return { route, up, headers, finish, text, sse };
}

/** Usage estimated for a stream cut before its usage chunk: the request's input, ~4 characters a token out. */
function estimatedUsage(body: Record<string, unknown>, streamedChars: number): Usage {
  return {
    inputTokens: estimateInputTokens(body, 4),
    outputTokens: Math.ceil(streamedChars / 4),
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}
