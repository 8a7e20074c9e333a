/** A breaker's settings, from the alias's `breaker` config: applied to each of the alias's targets. */
export interface BreakerSettings {
  /** Failures within `windowMs` that open the breaker. */
  failures: number;
  windowMs: number;
  /** How long an open breaker stays open before it lets a probe through (half-open). */
  cooldownMs: number;
}

/** `closed` lets calls through; `open` skips the target; `half-open` lets one probe through per isolate. */
export type BreakerPhase = "closed" | "open" | "half-open";

/** What `allow` decided for one attempt. */
export interface Admission {
  allowed: boolean;
  /** This attempt is the half-open probe: its `report` closes the breaker (ok) or reopens it (failure). */
  probe: boolean;
  state: BreakerPhase;
}

/** One breaker as the admin API shows it. */
export interface BreakerView {
  /** The target id, `<provider>/<upstream model>`. */
  id: string;
  state: BreakerPhase;
  /** Failures counted in the current window (at most the setting's `failures`). */
  failures: number;
  /** When it last opened (ms since the epoch); null while it has never opened since it last closed. */
  openedAt: number | null;
  /** Opened by hand (`PUT /admin/breakers/…`): no probe until it is closed by hand. */
  forced: boolean;
  /** The settings it was last reported with; null when it never was. */
  settings: BreakerSettings | null;
}

/**
 * The circuit breakers of the targets, by target id (`<provider>/<upstream model>`). `allow` and `report` are the
 * hot path: synchronous, no I/O awaited; background work goes through the `waitUntil` the port was built with.
 *
 * @example
 * const b = breakersFor(env, waitUntil);
 * const a = b.allow(target.id, alias.breaker);
 * if (!a.allowed) continue; // skip the target without waiting for its timeout
 * const ok = await attempt(target);
 * b.report(target.id, alias.breaker, ok);
 */
export interface Breakers {
  /** Whether an attempt on the target may go ahead now. */
  allow(id: string, settings: BreakerSettings): Admission;
  /** The outcome of an attempt `allow` let through (ok: the target answered; false: it failed). */
  report(id: string, settings: BreakerSettings, ok: boolean): void;
  /** Every breaker known: those that ever failed or were forced, and those this isolate has seen. */
  list(): Promise<BreakerView[]>;
  /** Opens (held open, no probes) or closes (failures cleared, a forced open undone) a breaker by hand. */
  force(id: string, state: "open" | "closed"): Promise<BreakerView>;
}
