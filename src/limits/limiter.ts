import { DurableObject } from "cloudflare:workers";
import { usdRounded } from "../spend/money";
import type { BudgetPeriod } from "./settings";

/** The allowance of one limiter object (a key, a key's shard, a team or a browser token). */
export interface Limits {
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  /** Budget in pico-USD (a decimal string: budgets outgrow 2⁵³ pico-USD) over a UTC period. */
  budget: { pusd: string; period: BudgetPeriod } | null;
}

/** What one request asks of a limiter object. */
export interface Ask {
  /** The request id: reservations, settlements and releases are keyed by it (idempotent). */
  id: string;
  limits: Limits;
  /** Tokens reserved against `tpm`: the input estimate plus the output cap. */
  tokens: number;
  /** Worst-case cost reserved against the budget, in pico-USD. */
  costPusd: number;
  /** A reservation not settled or released by then is dropped by the alarm (a Worker died mid-request). */
  ttlMs: number;
}

/** One dimension's standing after a decision, for the `x-ratelimit-*` headers. */
export interface Standing {
  limit: number;
  remaining: number;
  /** Until the window has room again for what was used, in ms. */
  resetMs: number;
}

export type DenyCode = "rate_limit_exceeded" | "tokens_per_minute" | "concurrency_limit" | "budget_exceeded";

export type Decision =
  | { ok: true; requests: Standing | null; tokens: Standing | null; budgetRemainingPusd: string | null }
  | { ok: false; code: DenyCode; message: string; retryAfterMs: number | null };

/** Spend and load of one object, for the admin API. */
export interface Usage {
  spentPusd: { day: string; month: string; total: string };
  heldPusd: string;
  inFlight: number;
  requestsLastMinute: number;
  tokensLastMinute: number;
}

const WINDOW_MS = 60_000;
/** Settled request ids are remembered this long, so a repeated settlement is not counted twice. */
const SETTLED_MEMORY_MS = 2 * 86_400_000;

/** The period keys a settlement at `now` adds to: today, this month and the running total (UTC). */
export function periodKeys(now: number): Record<BudgetPeriod, string> {
  const iso = new Date(now).toISOString();
  return { day: `day:${iso.slice(0, 10)}`, month: `month:${iso.slice(0, 7)}`, total: "total" };
}

/** When the budget period containing `now` ends (ms since the epoch); null for `total`. */
export function periodEnd(period: BudgetPeriod, now: number): number | null {
  const d = new Date(now);
  if (period === "day") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  if (period === "month") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return null;
}

/**
 * One limiter: the counters of a key (or a shard of one), a team or a browser token, in a SQLite-backed
 * Durable Object named `limits:<kind>:<id>[:<shard>]`. `acquire` checks every limit and reserves in one
 * synchronous step — no `await` between the reads and the writes — so concurrent requests are decided one
 * after another and a limit holds exactly. `settle` replaces a reservation by what the call really used;
 * `release` drops it (nothing was sent, or another object refused). Reservations a dead Worker left behind
 * expire by alarm after their TTL.
 */
export class Limiter extends DurableObject<object> {
  private readonly sql: SqlStorage;
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS window (id TEXT PRIMARY KEY, ts INTEGER NOT NULL, tokens INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS window_ts ON window (ts);
      CREATE TABLE IF NOT EXISTS held (id TEXT PRIMARY KEY, expires INTEGER NOT NULL, cost INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS spent (period TEXT PRIMARY KEY, pusd TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS settled (id TEXT PRIMARY KEY, ts INTEGER NOT NULL);
    `);
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Checks every limit and, when all pass, reserves the request: one atomic step. */
  async acquire(ask: Ask, now = Date.now()): Promise<Decision> {
    this.expire(now);
    const d = this.decide(ask, now);
    if (d.ok) {
      this.sql.exec(
        "INSERT OR IGNORE INTO window (id, ts, tokens) VALUES (?, ?, ?)",
        ask.id,
        now,
        ask.tokens,
      );
      this.sql.exec(
        "INSERT OR IGNORE INTO held (id, expires, cost) VALUES (?, ?, ?)",
        ask.id,
        now + ask.ttlMs,
        ask.costPusd,
      );
      await this.wakeAt(now + ask.ttlMs);
    }
    return d;
  }

  /**
   * Replaces a reservation by what the call used: its tokens count in the minute window, its cost is added to
   * the day, month and total spend. A second settlement of the same id changes nothing.
   */
  async settle(id: string, tokens: number, costPusd: number, now = Date.now()): Promise<void> {
    const fresh = this.sql.exec("INSERT OR IGNORE INTO settled (id, ts) VALUES (?, ?)", id, now).rowsWritten;
    if (fresh === 0) return;
    this.sql.exec("DELETE FROM held WHERE id = ?", id);
    this.sql.exec("UPDATE window SET tokens = ? WHERE id = ?", tokens, id);
    if (costPusd > 0) {
      for (const p of Object.values(periodKeys(now))) {
        const cur = this.sql
          .exec<{ pusd: string }>("SELECT pusd FROM spent WHERE period = ?", p)
          .toArray()[0];
        const next = (BigInt(cur?.pusd ?? "0") + BigInt(costPusd)).toString();
        this.sql.exec("INSERT OR REPLACE INTO spent (period, pusd) VALUES (?, ?)", p, next);
      }
    }
  }

  /** Drops a reservation: the request is not counted at all (nothing was sent upstream). */
  async release(id: string): Promise<void> {
    this.sql.exec("DELETE FROM held WHERE id = ?", id);
    this.sql.exec("DELETE FROM window WHERE id = ?", id);
  }

  /** Spend so far and the current load (admin API). */
  async usage(now = Date.now()): Promise<Usage> {
    this.expire(now);
    const keys = periodKeys(now);
    const spent = (p: BudgetPeriod) => this.spent(keys[p]).toString();
    const w = this.sql
      .exec<{ n: number; t: number | null }>("SELECT COUNT(*) AS n, SUM(tokens) AS t FROM window")
      .one();
    const held = this.held();
    return {
      spentPusd: { day: spent("day"), month: spent("month"), total: spent("total") },
      heldPusd: held.cost.toString(),
      inFlight: held.count,
      requestsLastMinute: w.n,
      tokensLastMinute: w.t ?? 0,
    };
  }

  /** Drops expired reservations and old window entries; wakes again for the next expiry. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.alarmAt = null;
    this.expire(now);
    this.sql.exec("DELETE FROM settled WHERE ts <= ?", now - SETTLED_MEMORY_MS);
    const today = periodKeys(now);
    this.sql.exec(
      "DELETE FROM spent WHERE period <> 'total' AND period <> ? AND period <> ?",
      today.day,
      today.month,
    );
    const next = this.sql.exec<{ e: number | null }>("SELECT MIN(expires) AS e FROM held").one().e;
    if (next !== null) await this.wakeAt(next);
  }

  private decide(ask: Ask, now: number): Decision {
    const { rpm, tpm, maxConcurrent, budget } = ask.limits;
    let requests: Standing | null = null;
    let tokens: Standing | null = null;
    if (rpm !== null) {
      const w = this.sql
        .exec<{ n: number; first: number | null }>("SELECT COUNT(*) AS n, MIN(ts) AS first FROM window")
        .one();
      const resetMs = w.first === null ? 0 : w.first + WINDOW_MS - now;
      if (w.n + 1 > rpm) {
        return {
          ok: false,
          code: "rate_limit_exceeded",
          message: `Rate limit of ${rpm} requests per minute reached.`,
          retryAfterMs: resetMs,
        };
      }
      requests = { limit: rpm, remaining: rpm - w.n - 1, resetMs: w.first === null ? WINDOW_MS : resetMs };
    }
    if (tpm !== null) {
      const used = this.sql.exec<{ t: number | null }>("SELECT SUM(tokens) AS t FROM window").one().t ?? 0;
      if (ask.tokens > tpm) {
        return {
          ok: false,
          code: "tokens_per_minute",
          message: `This request may use ${ask.tokens} tokens (input estimate + max output), more than the limit of ${tpm} tokens per minute. Lower max_tokens.`,
          retryAfterMs: null,
        };
      }
      if (used + ask.tokens > tpm) {
        return {
          ok: false,
          code: "tokens_per_minute",
          message: `Limit of ${tpm} tokens per minute reached (${used} used, this request may use ${ask.tokens}).`,
          retryAfterMs: this.tokensFreeIn(used + ask.tokens - tpm, now),
        };
      }
      tokens = { limit: tpm, remaining: tpm - used - ask.tokens, resetMs: this.tokensFreeIn(used, now) };
    }
    const held = this.held();
    if (maxConcurrent !== null && held.count + 1 > maxConcurrent) {
      return {
        ok: false,
        code: "concurrency_limit",
        message: `Limit of ${maxConcurrent} concurrent requests reached; wait for one to finish.`,
        retryAfterMs: 1000,
      };
    }
    let budgetRemainingPusd: string | null = null;
    if (budget !== null) {
      const limit = BigInt(budget.pusd);
      const spent = this.spent(periodKeys(now)[budget.period]);
      const after = spent + held.cost + BigInt(ask.costPusd);
      if (after > limit) {
        const end = periodEnd(budget.period, now);
        return {
          ok: false,
          code: "budget_exceeded",
          message: `Budget of $${usdRounded(limit, 2)} per ${budget.period === "total" ? "lifetime" : budget.period} would be exceeded: $${usdRounded(spent, 2)} spent, $${usdRounded(held.cost, 2)} reserved by calls in flight, this call may cost up to $${usdRounded(BigInt(ask.costPusd), 2)}.`,
          retryAfterMs: end === null ? null : end - now,
        };
      }
      budgetRemainingPusd = (limit - after).toString();
    }
    return { ok: true, requests, tokens, budgetRemainingPusd };
  }

  /** Drops reservations past their expiry and window entries older than a minute. */
  private expire(now: number): void {
    const gone = this.sql.exec("DELETE FROM held WHERE expires <= ?", now).rowsWritten;
    if (gone > 0) console.warn(JSON.stringify({ event: "sluice.limits.expired", reservations: gone }));
    this.sql.exec("DELETE FROM window WHERE ts <= ?", now - WINDOW_MS);
  }

  /** In-flight reservations: how many, and the cost they hold. */
  private held(): { count: number; cost: bigint } {
    let count = 0;
    let cost = 0n;
    for (const r of this.sql.exec<{ cost: number }>("SELECT cost FROM held")) {
      count++;
      cost += BigInt(r.cost);
    }
    return { count, cost };
  }

  private spent(period: string): bigint {
    const r = this.sql.exec<{ pusd: string }>("SELECT pusd FROM spent WHERE period = ?", period).toArray()[0];
    return BigInt(r?.pusd ?? "0");
  }

  /** Ms until `need` tokens have left the minute window (oldest first). */
  private tokensFreeIn(need: number, now: number): number {
    let freed = 0;
    for (const r of this.sql.exec<{ ts: number; tokens: number }>(
      "SELECT ts, tokens FROM window ORDER BY ts",
    )) {
      freed += r.tokens;
      if (freed >= need) return Math.max(0, r.ts + WINDOW_MS - now);
    }
    return WINDOW_MS;
  }

  private async wakeAt(t: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= t) return;
    this.alarmAt = t;
    await this.ctx.storage.setAlarm(t);
  }
}
