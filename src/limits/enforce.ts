import { GatewayError } from "../http/errors";
import type { KeyRecord } from "../keys/store";
import { formatUsd, usdRounded } from "../spend/money";
import type { LimiterObjects } from "./interface";
import type { Ask, Decision, Limits, Standing } from "./limiter";
import { hasLimits, type LimitSettings } from "./settings";

/** One limiter object a request must pass: its Durable Object name and the allowance it enforces. */
export interface Subject {
  name: string;
  limits: Limits;
}

/** A browser token's own limits, counted in an object of its own (besides its parent key's). */
export interface TokenLimits {
  id: string;
  limits: LimitSettings;
}

/** What an allowance split over `shards` objects gives each: the floor, so the shards never sum past it. */
function share(settings: LimitSettings, shards: number): Limits {
  const part = (v: number | null) => (v === null ? null : Math.floor(v / shards));
  return {
    rpm: part(settings.rpm),
    tpm: part(settings.tpm),
    maxConcurrent: part(settings.maxConcurrent),
    budget:
      settings.budget === null
        ? null
        : {
            pusd: ((BigInt(settings.budget.musd) * 1_000_000n) / BigInt(shards)).toString(),
            period: settings.budget.period,
          },
  };
}

/** The Durable Object names of a key's limiter: one, or one per shard (`limits:key:<id>:<n>`). */
export function keyObjectNames(key: Pick<KeyRecord, "id" | "shards">): string[] {
  return key.shards > 1
    ? Array.from({ length: key.shards }, (_, i) => `limits:key:${key.id}:${i}`)
    : [`limits:key:${key.id}`];
}

/**
 * The limiter objects a request goes through, in a fixed order: the key (one of its shards, at random), its
 * team, and the browser token it came with. Empty when nothing is limited — then no object is asked at all.
 */
export function subjectsFor(key: KeyRecord, token: TokenLimits | null): Subject[] {
  const out: Subject[] = [];
  if (hasLimits(key.limits)) {
    const names = keyObjectNames(key);
    const name = names[Math.floor(Math.random() * names.length)] ?? `limits:key:${key.id}`;
    out.push({ name, limits: share(key.limits, key.shards) });
  }
  if (key.team !== null && hasLimits(key.teamLimits)) {
    out.push({ name: `limits:team:${key.team}`, limits: share(key.teamLimits, 1) });
  }
  if (token && hasLimits(token.limits)) {
    out.push({ name: `limits:token:${token.id}`, limits: share(token.limits, 1) });
  }
  return out;
}

/** Whether any subject carries a budget (then calls default to strict mode and need a price). */
export const budgeted = (subjects: Subject[]) => subjects.some((s) => s.limits.budget !== null);

/** A granted request's hold on its limiter objects. */
export interface Reservation {
  /** `x-ratelimit-*` (and `x-sluice-budget-remaining-usd`) for the response. */
  headers: Record<string, string>;
  /** Replaces the reservation by what the call used (its tokens and cost; cost null = unpriced, counted 0). */
  settle(tokens: number, costPusd: number | null): Promise<void>;
  /** Drops the reservation: nothing was sent upstream, the request does not count. */
  release(): Promise<void>;
}

/** OpenAI's reset format: `250ms`, `12s`, `1m30s`. */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** The tightest standing of several objects (least remaining). */
function tightest(all: (Standing | null)[]): Standing | null {
  let best: Standing | null = null;
  for (const s of all) if (s && (!best || s.remaining < best.remaining)) best = s;
  return best;
}

function rateHeaders(granted: Extract<Decision, { ok: true }>[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [dim, pick] of [
    ["requests", (d: Extract<Decision, { ok: true }>) => d.requests],
    ["tokens", (d: Extract<Decision, { ok: true }>) => d.tokens],
  ] as const) {
    const s = tightest(granted.map(pick));
    if (!s) continue;
    h[`x-ratelimit-limit-${dim}`] = String(s.limit);
    h[`x-ratelimit-remaining-${dim}`] = String(s.remaining);
    h[`x-ratelimit-reset-${dim}`] = resetText(s.resetMs);
  }
  let budget: bigint | null = null;
  for (const d of granted) {
    if (d.budgetRemainingPusd === null) continue;
    const v = BigInt(d.budgetRemainingPusd);
    if (budget === null || v < budget) budget = v;
  }
  if (budget !== null) h["x-sluice-budget-remaining-usd"] = usdRounded(budget, 6);
  return h;
}

const ATTEMPTS = 3;

/** Calls `fn` up to three times (a Durable Object may be briefly unreachable); the last error is logged. */
async function retried(what: string, fn: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS) {
        console.error(JSON.stringify({ event: "sluice.limits.lost", what, error: String(err) }));
        return;
      }
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  }
}

/**
 * Asks every subject's limiter to check and reserve, all at once. If any refuses, the others' reservations
 * are released and the refusal is thrown as a 429 (its code, `Retry-After`); if a limiter cannot be reached the
 * call fails closed with 503. Otherwise the reservation is returned, to settle or release after the call.
 */
export async function reserve(
  objects: LimiterObjects,
  subjects: Subject[],
  ask: Omit<Ask, "limits">,
): Promise<Reservation> {
  const settled = await Promise.allSettled(
    subjects.map((s) => objects.acquire(s.name, { ...ask, limits: s.limits })),
  );
  // Each object's answer, or the error reaching it.
  const results = settled.map((r): Decision | Error =>
    r.status === "fulfilled" ? (r.value as Decision) : new Error(String(r.reason)),
  );
  const granted = subjects.filter((_, i) => {
    const r = results[i];
    return !(r instanceof Error) && r?.ok === true;
  });
  const release = () =>
    Promise.all(granted.map((s) => retried("release", () => objects.release(s.name, ask.id)))).then(() => {});
  const decisions: Extract<Decision, { ok: true }>[] = [];
  for (const r of results) {
    if (r instanceof Error) {
      await release();
      console.error(JSON.stringify({ event: "sluice.limits.unavailable", error: r.message }));
      throw new GatewayError("limiter_unavailable", "The rate limiter could not be reached; try again.", {
        headers: { "retry-after": "1" },
      });
    }
    if (!r.ok) {
      await release();
      throw new GatewayError(r.code, r.message, {
        headers:
          r.retryAfterMs === null
            ? {}
            : { "retry-after": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) },
      });
    }
    decisions.push(r);
  }
  return {
    headers: rateHeaders(decisions),
    settle: (tokens, costPusd) =>
      Promise.all(
        subjects.map((s) => retried("settle", () => objects.settle(s.name, ask.id, tokens, costPusd ?? 0))),
      ).then(() => {}),
    release,
  };
}

/** What the key's limiter objects hold now (all shards added up): spend per period, reservations, load. */
export async function keyLimiterUsage(objects: LimiterObjects, k: KeyRecord) {
  if (!hasLimits(k.limits)) return null;
  const all = await Promise.all(keyObjectNames(k).map((n) => objects.usage(n)));
  const sum = (f: (u: (typeof all)[number]) => string) =>
    formatUsd(all.reduce((a, u) => a + BigInt(f(u)), 0n));
  return {
    spentUsd: {
      day: sum((u) => u.spentPusd.day),
      month: sum((u) => u.spentPusd.month),
      total: sum((u) => u.spentPusd.total),
    },
    reservedUsd: sum((u) => u.heldPusd),
    inFlight: all.reduce((a, u) => a + u.inFlight, 0),
    requestsLastMinute: all.reduce((a, u) => a + u.requestsLastMinute, 0),
    tokensLastMinute: all.reduce((a, u) => a + u.tokensLastMinute, 0),
  };
}
