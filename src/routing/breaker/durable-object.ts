import { DurableObject } from "cloudflare:workers";
import type { BreakerSettings } from "./interface";
import { type BreakerState, CLOSED, failed, forcedTo, INDEX_NAME, succeeded } from "./machine";

const STATE = "state";
const REGISTERED = "registered";

interface BreakerEnv {
  BREAKERS?: DurableObjectNamespace<CircuitBreaker>;
}

/**
 * The authoritative state of one target's circuit breaker, in the object named by the target id
 * (`BREAKERS.idFromName("<provider>/<model>")`), shared by every alias and isolate using the target. Each method is
 * one synchronous read and write of one storage value (SQLite-backed, synchronous KV), so reports from many
 * isolates are applied one after another. Times come from the caller (`now`), so every isolate's clock and the
 * tests' drive the same state machine. The object named `INDEX_NAME` keeps the list of breaker ids instead.
 */
export class CircuitBreaker extends DurableObject<BreakerEnv> {
  private state: BreakerState;

  constructor(ctx: DurableObjectState, env: BreakerEnv) {
    super(ctx, env);
    this.state = ctx.storage.kv.get<BreakerState>(STATE) ?? CLOSED;
  }

  /** An attempt's outcome: the state after it. */
  async report(ok: boolean, settings: BreakerSettings, now: number = Date.now()): Promise<BreakerState> {
    const next = ok ? succeeded(this.state, settings, now) : failed(this.state, settings, now);
    if (next !== this.state) this.save(next);
    await this.register();
    return this.state;
  }

  /** The current state (what isolates refresh their view from). */
  read(): BreakerState {
    return this.state;
  }

  /** Opened or closed by hand. */
  async force(state: "open" | "closed", now: number = Date.now()): Promise<BreakerState> {
    this.save(forcedTo(this.state, state, now));
    await this.register();
    return this.state;
  }

  /** Index object: records a breaker id. */
  add(id: string): void {
    this.ctx.storage.kv.put(`id:${id}`, 1);
  }

  /** Index object: every breaker id recorded. */
  ids(): string[] {
    return [...this.ctx.storage.kv.list({ prefix: "id:" })].map(([k]) => k.slice(3));
  }

  private save(next: BreakerState) {
    this.state = next;
    this.ctx.storage.kv.put(STATE, next);
  }

  /** Once per object: its id into the index, so `GET /admin/health` can list it. */
  private async register() {
    const name = this.ctx.id.name;
    const ns = this.env.BREAKERS;
    if (!name || !ns || this.ctx.storage.kv.get(REGISTERED)) return;
    await ns.get(ns.idFromName(INDEX_NAME)).add(name);
    this.ctx.storage.kv.put(REGISTERED, 1);
  }
}
