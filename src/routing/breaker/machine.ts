import type { BreakerPhase, BreakerSettings, BreakerView } from "./interface";

/**
 * A breaker's state, the same in its Durable Object, an isolate's view and the local twin: `open` with
 * `openedAt` is half-open once `cooldownMs` has passed, so the half-open phase needs no timer.
 */
export interface BreakerState {
  open: boolean;
  openedAt: number | null;
  /** Failure times in the window, oldest first; at most `settings.failures` are kept. */
  failures: number[];
  forced: boolean;
  settings: BreakerSettings | null;
}

/** The breaker object that lists every breaker that ever recorded something (breaker ids always hold a `/`). */
export const INDEX_NAME = "breakers:index";

export const CLOSED: BreakerState = Object.freeze({
  open: false,
  openedAt: null,
  failures: [],
  forced: false,
  settings: null,
}) as BreakerState;

/** The phase at `now`: open turns half-open after the cooldown (never when forced). */
export function phaseOf(s: BreakerState, settings: BreakerSettings | null, now: number): BreakerPhase {
  if (!s.open) return "closed";
  if (s.forced || !settings || s.openedAt === null) return "open";
  return now - s.openedAt >= settings.cooldownMs ? "half-open" : "open";
}

/**
 * A failed attempt: closed, it is counted and opens the breaker at `failures` within `windowMs`; half-open (the
 * probe failed), it reopens for another cooldown; open, nothing changes.
 */
export function failed(s: BreakerState, settings: BreakerSettings, now: number): BreakerState {
  const phase = phaseOf(s, settings, now);
  if (phase === "open") return { ...s, settings };
  if (phase === "half-open") return { ...s, openedAt: now, settings };
  const failures = [...s.failures.filter((t) => now - t < settings.windowMs), now].slice(-settings.failures);
  if (failures.length >= settings.failures) return { ...s, open: true, openedAt: now, failures, settings };
  return { ...s, failures, settings };
}

/** A successful attempt: half-open (the probe answered), it closes the breaker; otherwise nothing changes. */
export function succeeded(s: BreakerState, settings: BreakerSettings, now: number): BreakerState {
  if (phaseOf(s, settings, now) !== "half-open") return s;
  return { ...CLOSED, settings };
}

/** Forced by hand: open holds until closed by hand; closed clears the failures. */
export function forcedTo(s: BreakerState, state: "open" | "closed", now: number): BreakerState {
  if (state === "closed") return { ...CLOSED, settings: s.settings };
  return { ...s, open: true, openedAt: now, forced: true };
}

/** The admin view of a state at `now`. */
export function viewOf(id: string, s: BreakerState, now: number): BreakerView {
  const windowMs = s.settings?.windowMs ?? Number.POSITIVE_INFINITY;
  return {
    id,
    state: phaseOf(s, s.settings, now),
    failures: s.failures.filter((t) => now - t < windowMs).length,
    openedAt: s.openedAt,
    forced: s.forced,
    settings: s.settings,
  };
}
