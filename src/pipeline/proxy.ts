import type { Context } from "hono";
import { type Route, resolveModel } from "../config/resolve";
import { type Usage, usageOfJson } from "../formats/usage";
import type { AppEnv } from "../http/context";
import { GatewayError } from "../http/errors";
import { assertModelAllowed } from "../keys/allow";
import { DROPPED_HEADER } from "../providers/native";
import type { Operation } from "../providers/types";
import { costPicoUsd, formatUsd, pricesFor } from "../spend/pricing";
import { type CallRecord, recordCall } from "./record";
import { callUpstream, type UpstreamSuccess } from "./upstream";

/** The part of a proxied call every route shares: resolve → allow → call upstream → headers → record. */
export interface ProxyCall {
  route: Route;
  up: UpstreamSuccess;
  /** Headers every proxied success carries. */
  headers: Record<string, string>;
  /** Records the call once its usage is known (off the response path, via waitUntil). */
  finish(outcome: Promise<{ usage: Usage | null; completed: boolean }>): void;
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
  const route = resolveModel(c.var.config, body.model);
  assertModelAllowed(c.var.key, body.model);
  const base: Omit<CallRecord, "status" | "errorCode" | "usage" | "costPicoUsd" | "completed" | "latencyMs"> =
    {
      requestId: c.var.requestId,
      keyId: c.var.key.id,
      model: body.model,
      provider: null,
      upstreamModel: null,
      op,
      stream,
      retries: 0,
    };
  let up: UpstreamSuccess;
  try {
    up = await callUpstream(route, { op, body, stream, env: c.env }, c.req.raw.signal);
  } catch (e) {
    if (e instanceof GatewayError) {
      recordCall({
        ...base,
        status: e.status,
        errorCode: e.wireCode,
        usage: null,
        costPicoUsd: 0,
        completed: false,
        retries: Number(e.headers["x-sluice-retries"] ?? 0),
        latencyMs: Date.now() - started,
      });
    }
    throw e;
  }
  const headers: Record<string, string> = {
    "x-sluice-provider": up.target.providerName,
    "x-sluice-model": up.target.model,
    "x-sluice-cache": "BYPASS",
    "x-sluice-retries": String(up.retries),
  };
  const dropped = up.response.headers.get(DROPPED_HEADER);
  if (dropped) headers[DROPPED_HEADER] = dropped;
  const cost = (usage: Usage | null): number | null => {
    const prices = usage ? pricesFor(c.var.config, up.target, usage.inputTokens) : null;
    return usage && prices ? costPicoUsd(usage, prices) : null;
  };
  const finish: ProxyCall["finish"] = (outcome) => {
    c.executionCtx.waitUntil(
      outcome.then(({ usage, completed }) =>
        recordCall({
          ...base,
          provider: up.target.providerName,
          upstreamModel: up.target.model,
          retries: up.retries,
          status: up.response.status,
          errorCode: null,
          usage,
          costPicoUsd: cost(usage),
          completed,
          latencyMs: Date.now() - started,
        }),
      ),
    );
  };
  const text = async () => {
    const t = await up.response.text();
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
