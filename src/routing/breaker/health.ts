import type { Env } from "../../env";
import { targetStats } from "../stats";
import { breakersFor } from "./index";
import type { BreakerPhase, BreakerSettings } from "./interface";

/** One target as `GET /admin/health` and the dashboard show it: its breaker and this isolate's figures. */
export interface TargetHealthRow {
  id: string;
  state: BreakerPhase;
  failures: number;
  /** ISO time it last opened; null when closed since. */
  openedAt: string | null;
  forced: boolean;
  settings: BreakerSettings | null;
  latencyMs?: number | null;
  errorRate?: number | null;
  requests?: number;
  errors?: number;
  lastError?: { at: string; code: string | null };
}

/**
 * Every known target's health, sorted by id: the breakers (every one that ever failed or was forced, and those
 * this isolate has seen) merged by id with routing/stats.ts's recent figures (latency, error rate) of this isolate.
 */
export async function targetHealth(
  env: Env,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<TargetHealthRow[]> {
  const breakers = new Map((await breakersFor(env, waitUntil).list()).map((b) => [b.id, b]));
  const stats = new Map(targetStats.snapshot().map(({ id, ...figures }) => [id, figures]));
  return [...new Set([...breakers.keys(), ...stats.keys()])].sort().map((id) => {
    const b = breakers.get(id);
    return {
      id,
      state: b?.state ?? "closed",
      failures: b?.failures ?? 0,
      openedAt: b?.openedAt == null ? null : new Date(b.openedAt).toISOString(),
      forced: b?.forced ?? false,
      settings: b?.settings ?? null,
      ...stats.get(id),
    };
  });
}
