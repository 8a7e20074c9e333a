import { DurableObject } from "cloudflare:workers";
import { pruneRows, type RowArray, rowArrays, writeRowArrays } from "./ledger";
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
 * `recordAll` appends a batch of rows to the object's own storage in one synchronous step, as one SQLite row
 * (`pending.row`: the rows' JSON array, `n`: how many) — a Durable Object's SQLite bills rows written, and a
 * row per call cost one insert and one delete per call — and returns once it is durable. An alarm flushes the
 * batches to D1 in transactions of up to ROWS_PER_FLUSH rows and deletes them only after D1 confirmed. When D1
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
    const sql = ctx.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, row TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 1)",
    );
    // A buffer made before batches were stored whole holds one row per call: those count 1 each.
    const columns = sql.exec<{ name: string }>("PRAGMA table_info(pending)").toArray();
    if (!columns.some((c) => c.name === "n")) {
      sql.exec("ALTER TABLE pending ADD COLUMN n INTEGER NOT NULL DEFAULT 1");
    }
  }

  /** Buffers one spend row durably and makes sure a flush is scheduled. */
  record(row: SpendRow, settings: BufferSettings): Promise<void> {
    return this.recordAll([row], settings);
  }

  /**
   * Buffers spend rows durably — as one stored row, or a few when the batch outgrows a flush or a D1 statement
   * (rowArrays) — and makes sure a flush is scheduled.
   */
  recordAll(rows: SpendRow[], settings: BufferSettings): Promise<void> {
    return this.recordArrays(rowArrays(rows, ROWS_PER_FLUSH), settings);
  }

  /**
   * Buffers spend rows already in their stored form (rowArrays: JSON array texts, as the Worker's sink sends
   * them — one string over the RPC rather than every row's fields cloned, then stringified here), each as one
   * stored row, and makes sure a flush is scheduled.
   */
  async recordArrays(arrays: readonly RowArray[], settings: BufferSettings): Promise<void> {
    const sql = this.ctx.storage.sql;
    for (const a of arrays) {
      sql.exec("INSERT INTO pending (row, n) VALUES (?, ?)", a.json, a.rows);
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
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(n), 0) AS n FROM pending").one().n;
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

  /**
   * Writes the oldest pending batches, up to ROWS_PER_FLUSH rows (at least one batch), to D1 and deletes them
   * once written; false when nothing was pending. The cursor is read only as far as the batches taken.
   */
  private async flushOnce(): Promise<boolean> {
    const cursor = this.ctx.storage.sql.exec<{ seq: number; n: number; row: string }>(
      "SELECT seq, n, row FROM pending ORDER BY seq LIMIT ?",
      ROWS_PER_FLUSH,
    );
    const texts: string[] = [];
    let rows = 0;
    let last = -1;
    for (const b of cursor) {
      if (texts.length > 0 && rows + b.n > ROWS_PER_FLUSH) break;
      texts.push(b.row);
      rows += b.n;
      last = b.seq;
    }
    if (last < 0) return false;
    await writeRowArrays(this.db, texts);
    this.ctx.storage.sql.exec("DELETE FROM pending WHERE seq <= ?", last);
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
