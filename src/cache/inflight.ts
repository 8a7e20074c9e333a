type Slot = { state: "pending" | "failed"; until: number } | { state: "done"; entry: string; until: number };

const MAX_SLOTS = 10_000;
/** How long a finished slot still answers late followers. */
const KEEP_DONE_MS = 5_000;

/**
 * Identical requests in flight in one isolate: the first (the leader) goes upstream, the ones that arrive
 * while it runs wait for its answer instead of all missing. Followers poll plain data on their own timers —
 * a promise settled by another request's I/O is not something a Worker request may wait on — and go on their
 * own when the leader fails or `maxWaitMs` passes. `now` and `sleep` are the clock (tests control them).
 */
export class InFlight {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Takes the lead for `key` unless a live leader has it; true when the caller leads. */
  lead(key: string, maxWaitMs: number): boolean {
    const slot = this.slots.get(key);
    if (slot?.state === "pending" && slot.until > this.now()) return false;
    if (this.slots.size >= MAX_SLOTS) this.prune();
    this.slots.set(key, { state: "pending", until: this.now() + maxWaitMs });
    return true;
  }

  /** Whether a live leader is working on `key`. */
  leading(key: string): boolean {
    const slot = this.slots.get(key);
    return slot?.state === "pending" && slot.until > this.now();
  }

  /** The leader's outcome: the entry it stored, or null when it has none to share. */
  settle(key: string, entry: string | null): void {
    const until = this.now() + KEEP_DONE_MS;
    this.slots.set(key, entry === null ? { state: "failed", until } : { state: "done", entry, until });
  }

  /** Waits for the leader of `key`: its entry, or null when it failed or took longer than `maxWaitMs`. */
  async follow(key: string, maxWaitMs: number): Promise<string | null> {
    const deadline = this.now() + maxWaitMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const slot = this.slots.get(key);
      if (slot?.state === "done") return slot.entry;
      if (!slot || slot.state === "failed" || slot.until <= this.now() || this.now() >= deadline) return null;
      await this.sleep(Math.min(wait, Math.max(1, deadline - this.now())));
    }
  }

  private prune(): void {
    const now = this.now();
    for (const [k, s] of this.slots) if (s.until <= now) this.slots.delete(k);
    // Still full of live slots: the oldest goes (its followers then go upstream on their own).
    if (this.slots.size >= MAX_SLOTS) {
      const oldest = this.slots.keys().next().value;
      if (oldest !== undefined) this.slots.delete(oldest);
    }
  }
}
