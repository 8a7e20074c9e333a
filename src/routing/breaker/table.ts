import type { Admission, BreakerSettings } from "./interface";
import { type BreakerState, CLOSED, failed, phaseOf, succeeded } from "./machine";

/** One target's breaker as an isolate holds it. */
export interface Entry {
  state: BreakerState;
  /** Bumped by every local change: an object's answer to an older request must not undo a newer one. */
  seq: number;
  /** When the request that last brought the state from the breaker's object was sent (never: -Infinity). */
  fetchedAt: number;
  /** A refresh sent at this time is under way (null: none). */
  refreshingAt: number | null;
  /** This isolate's half-open probe, let through at this time (null: none in flight). */
  probeAt: number | null;
}

/** What a report changed, for the adapter to decide whether the object must hear of it. */
export interface Reported {
  entry: Entry;
  /** The phase the attempt's outcome met. */
  before: ReturnType<typeof phaseOf>;
}

/**
 * The breakers of one isolate: the state machine run on its own view, synchronously. The local twin is this
 * alone; the shared adapter sends what matters to the breaker objects and takes their answers in.
 */
export class BreakerTable {
  readonly entries = new Map<string, Entry>();

  constructor(readonly now: () => number) {}

  entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = { state: CLOSED, seq: 0, fetchedAt: Number.NEGATIVE_INFINITY, refreshingAt: null, probeAt: null };
      this.entries.set(id, e);
    }
    return e;
  }

  /** Closed: let through; open: skip; half-open: one probe in flight per isolate (another after a cooldown). */
  allow(e: Entry, settings: BreakerSettings, now: number): Admission {
    const state = phaseOf(e.state, settings, now);
    if (state === "closed") return { allowed: true, probe: false, state };
    if (state === "open") return { allowed: false, probe: false, state };
    if (e.probeAt !== null && now - e.probeAt < settings.cooldownMs)
      return { allowed: false, probe: false, state };
    e.probeAt = now;
    return { allowed: true, probe: true, state };
  }

  /** An attempt's outcome applied to the isolate's view at once. */
  report(id: string, settings: BreakerSettings, ok: boolean, now: number): Reported {
    const e = this.entry(id);
    const before = phaseOf(e.state, settings, now);
    const next = ok ? succeeded(e.state, settings, now) : failed(e.state, settings, now);
    if (before === "half-open") e.probeAt = null;
    if (next !== e.state) this.set(e, next);
    return { entry: e, before };
  }

  /** A local change (a report, a forced state). */
  set(e: Entry, state: BreakerState) {
    if (!state.open) e.probeAt = null;
    e.state = state;
    e.seq++;
  }

  /** An object's answer to a request sent at `sentAt`, `seq`: taken unless the view changed since. */
  take(e: Entry, state: BreakerState, seq: number, sentAt: number) {
    e.fetchedAt = Math.max(e.fetchedAt, sentAt);
    if (e.seq !== seq) return;
    if (!state.open) e.probeAt = null;
    e.state = state;
  }
}
