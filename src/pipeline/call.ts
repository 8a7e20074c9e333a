import { replayStream, StreamAssembler } from "../cache/entry";
import { type Route, resolveModel } from "../config/resolve";
import { fromOpenAIUsage, type Usage } from "../formats/usage";
import { GatewayError } from "../http/errors";
import { idHeaders } from "../http/ids";
import type { InboundFormat, ParsedCall } from "../inbound/types";
import { assertModelAllowed, assertTokenModel } from "../keys/allow";
import { estimateInputTokens } from "../limits/estimate";
import { adapterFor } from "../providers";
import { DROPPED_HEADER } from "../providers/native";
import type { RequestFacts } from "../routing/rules";
import { formatUsd } from "../spend/money";
import { costPicoUsd, pricesFor } from "../spend/pricing";
import type { CallRecord } from "../spend/record";
import { requestMetadata } from "../spend/row";
import type { CallInput } from "./input";
import { limitedCall, usedTokens } from "./limit";
import type { Services } from "./services";
import type { StageAnswer, StageCall } from "./stage";
import { type StreamOutcome, watchChatStream } from "./stream";

/**
 * What routing rules and strategies read of a call (routing/rules.ts); the tools check, the token estimate and
 * the image scan run only if a rule or the cost strategy asks for them (so a passthrough's canonical body is
 * never made for them: inbound/deferred.ts). A class: getters on an object literal are defined anew for every
 * call, on the prototype once.
 */
class CallFacts implements RequestFacts {
  readonly keyId: string;
  readonly keyName: string | null;
  readonly team: string | null;
  readonly format: RequestFacts["format"];
  #tools: boolean | undefined;
  #tokens: number | undefined;
  #images: boolean | undefined;

  constructor(
    format: InboundFormat,
    input: CallInput,
    readonly metadata: Record<string, unknown> | null,
    readonly body: Record<string, unknown>,
  ) {
    this.keyId = input.key.id;
    this.keyName = input.key.name;
    this.team = input.key.team;
    this.format = format.name;
  }

  get tools(): boolean {
    this.#tools ??= Array.isArray(this.body.tools) && this.body.tools.length > 0;
    return this.#tools;
  }

  get inputTokens(): number {
    this.#tokens ??= estimateInputTokens(this.body);
    return this.#tokens;
  }

  get images(): boolean {
    this.#images ??= hasImage(this.body.messages);
    return this.#images;
  }
}

/** Whether any message part is an image (canonical `image_url` parts). */
function hasImage(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  return messages.some(
    (m) =>
      Array.isArray((m as { content?: unknown }).content) &&
      ((m as { content: { type?: unknown }[] }).content ?? []).some((p) => p?.type === "image_url"),
  );
}

/** Whether the canonical body falls short of a request that some target of the route would get as it came. */
function lossy(format: InboundFormat, route: Route, parsed: ParsedCall): boolean {
  const wire = format.passthrough?.format;
  if (!wire || (parsed.dropped.length === 0 && !parsed.untranslatable)) return false;
  return route.targets.some((t) => adapterFor(t.provider).speaks === wire);
}

/**
 * What a stage sees of the call (stage.ts). A class: getters on an object literal are defined anew for every
 * call. `dropped` and `lossy` are read by a stage that acts on this call (the cache, when its alias caches): a
 * deferred call's canonical form is made then, not for every call that passes a stage.
 */
class CallForStages implements StageCall {
  readonly requestId: string;
  readonly keyId: string;
  readonly team: string | null;
  readonly op: StageCall["op"];
  readonly body: Record<string, unknown>;
  readonly stream: boolean;
  readonly headers: Headers;
  readonly notes: StageCall["notes"] = { cache: "BYPASS", headers: {}, wantsText: false };

  constructor(
    private readonly format: InboundFormat,
    input: CallInput,
    private readonly parsed: ParsedCall,
    readonly route: Route,
    readonly endUser: string | null,
  ) {
    this.requestId = input.requestId;
    this.keyId = input.key.id;
    this.team = input.key.team;
    this.op = format.op;
    this.body = parsed.body;
    this.stream = parsed.stream;
    this.headers = input.headers;
  }

  get dropped(): readonly string[] {
    return this.parsed.dropped;
  }

  get lossy(): boolean {
    return lossy(this.format, this.route, this.parsed);
  }
}

/**
 * The pipeline: one proxied call from the authenticated key to the settled record, in the client's format.
 * parse (format) → resolve → allow → stages' `before` → limits (reserve) → upstream (retries, fallbacks, the
 * answer checked) → the answer in the client's format (a stream watched for usage) → stages' `after`, settle
 * and record, off the response path. Refusals and failures after parsing leave a record too; errors are
 * thrown as GatewayErrors for the caller to write in `format.errorShape`.
 */
export async function runCall(s: Services, format: InboundFormat, input: CallInput): Promise<Response> {
  const parsed = format.parse(input.json, input.headers);
  const { body, stream } = parsed;
  const started = Date.now();
  const base = {
    requestId: input.requestId,
    clientRequestId: input.clientRequestId,
    startedAt: started,
    keyId: input.key.id,
    team: input.key.team,
    endUser: input.token?.user ?? (typeof body.user === "string" ? body.user : null),
    metadata: null as Record<string, unknown> | null,
    model: body.model,
    op: format.op,
    stream,
    cache: "BYPASS" as CallRecord["cache"],
    savedPicoUsd: 0,
  } satisfies Partial<CallRecord>;
  const none = { provider: null, upstreamModel: null, targetIndex: null, usage: null, ttfbMs: null };
  /** Keeps the isolate alive for `work`, if there is any (a row that joined another call's batch is none). */
  const keep = (work: Promise<unknown> | null) => {
    if (work) s.waitUntil(work);
  };
  const fail = (e: GatewayError) =>
    keep(
      s.record({
        ...base,
        ...none,
        retries: Number(e.headers["x-sluice-retries"] ?? 0),
        status: e.status,
        errorCode: e.wireCode,
        costPicoUsd: 0,
        completed: false,
        latencyMs: Date.now() - started,
      }),
    );

  /** A stage answered the call: written in the client's format and recorded at cost 0, nothing sent upstream. */
  const answered = (answer: StageAnswer): Response => {
    keep(
      s.record({
        ...base,
        ...none,
        cache: answer.cache,
        savedPicoUsd: answer.savedPicoUsd,
        retries: 0,
        status: 200,
        errorCode: null,
        costPicoUsd: 0,
        completed: true,
        latencyMs: Date.now() - started,
      }),
    );
    if (stream) {
      const replayed = watchChatStream(replayStream(answer.text), !format.wantsUsageChunk(parsed));
      return new Response(format.stream(replayed.body, input.headers), {
        headers: { ...SSE_HEADERS, ...idHeaders(input), ...answer.headers },
      });
    }
    return new Response(format.answer(answer.text, input.headers), {
      headers: { "content-type": "application/json", ...idHeaders(input), ...answer.headers },
    });
  };

  let route: Route;
  let stageCall: StageCall | undefined;
  let called: Awaited<ReturnType<typeof limitedCall>>;
  try {
    // Refusals from here on (unknown or forbidden model, bad metadata, limits, upstream failures) leave a row.
    base.metadata = requestMetadata(input.headers);
    route = resolveModel(s.config, body.model);
    assertModelAllowed(input.key, body.model);
    if (input.token) assertTokenModel(input.token, body.model);
    stageCall = new CallForStages(format, input, parsed, route, base.endUser);
    for (const stage of s.stages) {
      const answer = await stage.before?.(stageCall);
      if (answer) return answered(answer);
    }
    const passthrough = format.passthrough && {
      format: format.passthrough.format,
      path: format.paths[0] ?? "",
      body: input.raw,
      headers: input.headers,
      query: input.query,
      standalone: input.standalone,
    };
    called = await limitedCall(s, input, route, {
      op: format.op,
      body,
      stream,
      passthrough,
      clientText: format.canonical ? { of: body, text: input.raw } : undefined,
      untranslatable: parsed.untranslatable,
      deadlineAt: route.deadlineMs === null ? undefined : started + route.deadlineMs,
      facts: new CallFacts(format, input, base.metadata, body),
    });
  } catch (e) {
    if (stageCall) for (const stage of s.stages) stage.failed?.(stageCall);
    if (e instanceof GatewayError) fail(e);
    throw e;
  }
  const { up, reservation } = called;
  const ttfbMs = Date.now() - started;
  const call = stageCall;
  base.cache = call.notes.cache;
  // The answer's headers, the id headers among them (idHeaders: built in, not set on the answer afterwards).
  const headers: Record<string, string> = {
    ...idHeaders(input),
    "x-sluice-provider": up.target.providerName,
    "x-sluice-model": up.target.model,
    "x-sluice-cache": call.notes.cache,
    "x-sluice-retries": String(up.retries),
    "x-sluice-fallback-index": up.target.path,
    "x-sluice-route": up.why,
    ...call.notes.headers,
  };
  if (reservation) Object.assign(headers, reservation.headers);
  // A passthrough dropped nothing: the client's request went as it came.
  const dropped = up.passthrough
    ? []
    : [...parsed.dropped, ...(up.response.headers.get(DROPPED_HEADER)?.split(",") ?? [])];
  if (dropped.length > 0) headers[DROPPED_HEADER] = dropped.join(",");
  const cost = (usage: Usage | null): number | null => {
    const prices = usage ? pricesFor(s.config, up.target, usage.inputTokens) : null;
    return usage && prices ? costPicoUsd(usage, prices) : null;
  };

  /**
   * Settles, records and tells the stages once the answer is complete; returns what is left to wait for, or
   * null when nothing is (no reservation, the row joined an open batch, no stage has work): then the call asks
   * for no `waitUntil` at all.
   */
  const settle = ({
    usage: reported,
    completed,
    streamedChars,
    error,
    text,
  }: Outcome): Promise<unknown> | null => {
    // A stream cut before its usage chunk: what streamed, estimated (input from the request, output from text).
    const usage = reported ?? (stream && !completed ? estimatedUsage(body, streamedChars) : null);
    const costPusd = cost(usage);
    const work: Promise<unknown>[] = [];
    const settled = reservation?.settle(usedTokens(usage), costPusd);
    if (settled) work.push(settled);
    const recorded = s.record({
      ...base,
      provider: up.target.providerName,
      upstreamModel: up.target.model,
      targetIndex: route.targets.indexOf(up.target),
      route: { path: up.target.path, why: up.why },
      retries: up.retries,
      status: up.response.status,
      errorCode: error,
      usage,
      costPicoUsd: costPusd,
      completed,
      latencyMs: Date.now() - started,
      ttfbMs,
    });
    if (recorded) work.push(recorded);
    for (const stage of s.stages) {
      const after = stage.after?.(call, {
        text,
        usage,
        completed,
        costPicoUsd: costPusd,
        provider: up.target.providerName,
        model: up.target.model,
      });
      if (after) work.push(afterStage(stage.name, after));
    }
    return work.length > 0 ? Promise.all(work) : null;
  };
  /** An answer already read: settled now (a failure there is the call's background work failing, as a stream's). */
  const settleNow = (o: Outcome) => {
    try {
      keep(settle(o));
    } catch (err) {
      s.waitUntil(Promise.reject(err));
    }
  };
  /** A stream's outcome, settled when it arrives (off the response path). */
  const finish = (outcome: Promise<Outcome>) => s.waitUntil(outcome.then(settle));

  // A flowing stream's limits: the gap between chunks, and what is left of the call's deadline.
  const timing = {
    idleMs: route.idleTimeoutMs ?? undefined,
    deadlineAt: route.deadlineMs === null ? undefined : started + route.deadlineMs,
  };
  const wire = up.passthrough ? format.passthrough : undefined;
  if (wire && up.held) {
    // The target answered in the client's own format: passed on byte for byte, watched for usage.
    const watched = wire.watch(up.held, call.notes.wantsText, timing);
    finish(
      watched.done.then((o) => {
        if (o.final && o.completed) wire.answered?.(input.headers, o.final, up.target.providerName);
        return o;
      }),
    );
    return new Response(watched.body, { headers: Object.assign(headers, SSE_HEADERS) });
  }
  if (wire && up.read) {
    const usage = wire.usage(up.read.json);
    const usd = cost(usage);
    if (usd !== null) headers["x-sluice-cost-usd"] = formatUsd(usd);
    const canonical = call.notes.wantsText ? wire.canonical(up.read.json) : null;
    wire.answered?.(input.headers, up.read.json, up.target.providerName);
    settleNow({ usage, completed: true, streamedChars: 0, error: null, text: canonical });
    headers["content-type"] = "application/json";
    return new Response(up.read.text, { headers });
  }
  if (up.held) {
    // A stream (answer.ts held it until its first content event; relayed from there).
    const upstream = up.held;
    const assembler = call.notes.wantsText ? new StreamAssembler() : null;
    const watched = watchChatStream(
      upstream,
      !format.wantsUsageChunk(parsed),
      assembler?.push.bind(assembler),
      timing,
    );
    finish(
      watched.done.then((o) => {
        const whole = o.completed ? assembler?.result() : null;
        return { ...o, text: whole ? JSON.stringify(whole) : null };
      }),
    );
    return new Response(format.stream(watched.body, input.headers), {
      headers: Object.assign(headers, SSE_HEADERS),
    });
  }
  const { text, json } = up.read;
  const usage = fromOpenAIUsage(json.usage);
  const usd = cost(usage);
  if (usd !== null) headers["x-sluice-cost-usd"] = formatUsd(usd);
  settleNow({ usage, completed: true, streamedChars: 0, error: null, text });
  headers["content-type"] = "application/json";
  return new Response(format.answer(text, input.headers), { headers });
}

type Outcome = StreamOutcome & { text: string | null };

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

/** A stage's `after`, whose failure is logged and never fails the call. */
async function afterStage(name: string, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    console.error(JSON.stringify({ event: "sluice.stage.failed", stage: name, error: String(err) }));
  }
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
