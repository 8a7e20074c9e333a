import { DurableObject } from "cloudflare:workers";
import { pruneRows, writeRows } from "./ledger";
import type { SpendRow } from "./row";

/** Delay between the first buffered row and its flush: rows arriving meanwhile go in the same transaction. */
export const FLUSH_DELAY_MS = 1000;
/** Rows per D1 transaction. */
export const ROWS_PER_FLUSH = 1000;
/** Transactions per alarm; more pending rows are left to an alarm set at once. */
const FLUSHES_PER_ALARM = 5;
const MAX_BACKOFF_MS = 60_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Rows per prune statement, and statements per prune run (a run deletes up to 250,000 rows per shard). */
export const PRUNE_BATCH_ROWS = 5000;
const PRUNE_BATCHES = 50;
const DAY_MS = 86_400_000;

/** The bindings the buffer uses (a subset of the Worker's `Env`). */
export interface BufferEnv {
  DB: D1Database;
}

/** What the Worker tells the buffer along with each row (from the gateway config). */
export interface BufferSettings {
  /** Raw rows older than this many days are deleted (daily rollups stay); 0 keeps them forever. */
  retentionDays: number;
}

/**
 * A shard of the spend ledger's write buffer (SQLite-backed Durable Object, named `spend:<n>`).
 * `record` appends a row to the object's own storage in one synchronous step and returns once it is durable;
 * an alarm flushes the rows to D1 in batched transactions and deletes them only after D1 confirmed. When D1
 * fails, the rows stay and the alarm retries with backoff (doubling to a minute), for as long as it takes.
 */
export class SpendBuffer extends DurableObject<BufferEnv> {
  /** The ledger's database: `env.DB` (tests wrap it to simulate an outage). */
  db: D1Database;
  private scheduled = false;
  private failures = 0;
  private lastPrune = 0;
  private retentionDays = 0;

  constructor(ctx: DurableObjectState, env: BufferEnv) {
    super(ctx, env);
    this.db = env.DB;
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, row TEXT NOT NULL)",
    );
  }

  /** Buffers one spend row durably and makes sure a flush is scheduled. */
  record(row: SpendRow, settings: BufferSettings): Promise<void> {
    return this.recordAll([row], settings);
  }

  /** Buffers spend rows durably (one statement: SQLite splits the JSON array) and makes sure a flush is scheduled. */
  async recordAll(rows: SpendRow[], settings: BufferSettings): Promise<void> {
    if (rows.length > 0) {
      this.ctx.storage.sql.exec(
        "INSERT INTO pending (row) SELECT value FROM json_each(?)",
        JSON.stringify(rows),
      );
    }
    this.retentionDays = settings.retentionDays;
    if (!this.scheduled) {
      this.scheduled = true;
      if ((await this.ctx.storage.getAlarm()) === null) {
        await this.ctx.storage.setAlarm(Date.now() + FLUSH_DELAY_MS);
      }
    }
  }

  /** Rows waiting for D1. */
  pendingCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pending").one().n;
  }

  override async alarm(): Promise<void> {
    this.scheduled = false;
    let next: number | null = null;
    try {
      for (let i = 0; i < FLUSHES_PER_ALARM && (await this.flushOnce()); i++);
      this.failures = 0;
      if (this.pendingCount() > 0) next = Date.now();
      else await this.prune();
    } catch (err) {
      this.failures++;
      next = Date.now() + Math.min(FLUSH_DELAY_MS * 2 ** this.failures, MAX_BACKOFF_MS);
      console.error(
        JSON.stringify({
          event: "sluice.spend.flush_failed",
          pending: this.pendingCount(),
          failures: this.failures,
          error: String(err),
        }),
      );
    }
    // Rows recorded while this alarm ran may have seen it as still scheduled.
    if (next === null && this.pendingCount() > 0) next = Date.now() + FLUSH_DELAY_MS;
    if (next !== null) {
      this.scheduled = true;
      await this.ctx.storage.setAlarm(next);
    }
  }

  /** Writes the oldest pending rows to D1 and deletes them once written; false when nothing was pending. */
  private async flushOnce(): Promise<boolean> {
    const batch = this.ctx.storage.sql
      .exec<{ seq: number; row: string }>("SELECT seq, row FROM pending ORDER BY seq LIMIT ?", ROWS_PER_FLUSH)
      .toArray();
    const last = batch[batch.length - 1];
    if (!last) return false;
    await writeRows(
      this.db,
      batch.map((r) => r.row),
    );
    this.ctx.storage.sql.exec("DELETE FROM pending WHERE seq <= ?", last.seq);
    return true;
  }

  /**
   * Deletes raw rows past retention, at most hourly, in batches until none is left (up to PRUNE_BATCHES per run;
   * a run that still found full batches makes the next alarm prune again), so deletion keeps up with any write
   * rate rather than one batch an hour. A failure here only delays it.
   */
  private async prune(): Promise<void> {
    if (this.retentionDays <= 0 || Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    try {
      const before = Date.now() - this.retentionDays * DAY_MS;
      for (let i = 0; i < PRUNE_BATCHES; i++) {
        if ((await pruneRows(this.db, before, PRUNE_BATCH_ROWS)) < PRUNE_BATCH_ROWS) return;
      }
      this.lastPrune = 0;
    } catch (err) {
      console.error(JSON.stringify({ event: "sluice.spend.prune_failed", error: String(err) }));
    }
  }
}
