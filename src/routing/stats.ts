/** What one attempt at a target showed. */
export interface Observation {
  /** Time to the first byte of the answer (a timeout may report the time waited, so it counts as slow). */
  ttfbMs?: number;
  ok: boolean;
  /** The failure's error code, for `lastError`. */
  code?: string;
}

/** One target's recent figures, as GET /admin/health shows them. */
export interface TargetHealth {
  /** `provider/model`. */
  id: string;
  /** Moving average of the time to first byte; null when unknown or stale. */
  latencyMs: number | null;
  /** Failures ÷ attempts over the sliding window; null when the window saw none. */
  errorRate: number | null;
  /** Attempts and failures observed by this isolate since it started. */
  requests: number;
  errors: number;
  lastError?: { at: string; code: string | null };
}

export interface StatsOptions {
  /** The clock (ms since the epoch); Date.now unless a test drives it. */
  now?: () => number;
  /**
   * Weight of each new time-to-first-byte sample in the average. 0.5: the last 3 samples carry 88 %, so a target
   * that slowed tenfold is overtaken after 2 samples and a recovered one wins again after ~4 exploration samples.
   */
  alpha?: number;
  /** The error-rate window and its bucket size (default 60 s in 10 s buckets). */
  windowMs?: number;
  bucketMs?: number;
  /** A latency with no sample for this long is unknown again, so latency routing tries the target anew. */
  staleMs?: number;
  /** Targets kept; the least recently observed goes first. */
  maxTargets?: number;
}

interface Bucket {
  start: number;
  requests: number;
  errors: number;
}

interface Entry {
  ewma: number | null;
  sampledAt: number;
  requests: number;
  errors: number;
  buckets: Bucket[];
  lastError?: { at: number; code: string | null };
}

/**
 * Per-target routing figures kept in the isolate's memory: an exponentially weighted moving average of the
 * time to first byte (what `latency` routing orders by) and the error rate over a sliding window of buckets.
 * Cheap on the hot path: `observe` and `latencyMs` touch one map entry and one bucket.
 *
 * @example
 * const stats = new TargetStats({ now: () => clock });
 * stats.observe("openai/gpt-4.1", { ttfbMs: 420, ok: true });
 * stats.latencyMs("openai/gpt-4.1"); // 420
 */
export class TargetStats {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly alpha: number;
  private readonly bucketMs: number;
  private readonly slots: number;
  private readonly staleMs: number;
  private readonly maxTargets: number;

  constructor(o: StatsOptions = {}) {
    this.now = o.now ?? Date.now;
    this.alpha = o.alpha ?? 0.5;
    this.bucketMs = o.bucketMs ?? 10_000;
    this.slots = Math.max(1, Math.round((o.windowMs ?? 60_000) / this.bucketMs));
    this.staleMs = o.staleMs ?? 300_000;
    this.maxTargets = o.maxTargets ?? 1000;
  }

  /** Records one attempt's outcome at the target. */
  observe(id: string, o: Observation): void {
    const now = this.now();
    let e = this.entries.get(id);
    if (e) this.entries.delete(id);
    else {
      e = { ewma: null, sampledAt: 0, requests: 0, errors: 0, buckets: [] };
      if (this.entries.size >= this.maxTargets) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
    }
    this.entries.set(id, e);
    if (o.ttfbMs !== undefined && Number.isFinite(o.ttfbMs) && o.ttfbMs >= 0) {
      const last = now - e.sampledAt > this.staleMs ? null : e.ewma;
      e.ewma = last === null ? o.ttfbMs : last + this.alpha * (o.ttfbMs - last);
      e.sampledAt = now;
    }
    e.requests++;
    const b = this.bucket(e, now);
    b.requests++;
    if (!o.ok) {
      e.errors++;
      b.errors++;
      e.lastError = { at: now, code: o.code ?? null };
    }
  }

  /** The target's recent time to first byte in ms; null when it has no sample within `staleMs`. */
  latencyMs(id: string): number | null {
    const e = this.entries.get(id);
    if (!e || e.ewma === null || this.now() - e.sampledAt > this.staleMs) return null;
    return e.ewma;
  }

  /** Failures ÷ attempts within the window; null when the window holds no attempt. */
  errorRate(id: string): number | null {
    const e = this.entries.get(id);
    if (!e) return null;
    const since = this.bucketStart(this.now()) - (this.slots - 1) * this.bucketMs;
    let requests = 0;
    let errors = 0;
    for (const b of e.buckets) {
      if (!b || b.start < since) continue; // a slot not used yet, or an older bucket's
      requests += b.requests;
      errors += b.errors;
    }
    return requests === 0 ? null : errors / requests;
  }

  /** Every target's figures, sorted by id. */
  snapshot(): TargetHealth[] {
    return [...this.entries.keys()].sort().map((id) => {
      const e = this.entries.get(id) as Entry;
      const row: TargetHealth = {
        id,
        latencyMs: this.latencyMs(id),
        errorRate: this.errorRate(id),
        requests: e.requests,
        errors: e.errors,
      };
      if (e.lastError) row.lastError = { at: new Date(e.lastError.at).toISOString(), code: e.lastError.code };
      return row;
    });
  }

  private bucketStart(now: number): number {
    return now - (now % this.bucketMs);
  }

  /** The bucket `now` falls in, reset when its slot last held an older bucket. */
  private bucket(e: Entry, now: number): Bucket {
    const start = this.bucketStart(now);
    const slot = Math.floor(start / this.bucketMs) % this.slots;
    let b = e.buckets[slot];
    if (!b) {
      b = { start, requests: 0, errors: 0 };
      e.buckets[slot] = b;
    } else if (b.start !== start) {
      b.start = start;
      b.requests = 0;
      b.errors = 0;
    }
    return b;
  }
}

/** The isolate's stats: what the pipeline observes into and routing and GET /admin/health read. */
export const targetStats = new TargetStats();
