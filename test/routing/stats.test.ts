import { describe, expect, it } from "vitest";
import { TargetStats } from "../../src/routing/stats";

function statsAt(start = 1_700_000_000_000, o: ConstructorParameters<typeof TargetStats>[0] = {}) {
  const clock = { now: start };
  return { clock, stats: new TargetStats({ now: () => clock.now, ...o }) };
}

describe("routing stats", () => {
  it("keeps a moving average of the time to first byte, each sample weighing 0.5", () => {
    const { stats } = statsAt();
    expect(stats.latencyMs("p/m")).toBeNull();
    stats.observe("p/m", { ttfbMs: 100, ok: true });
    expect(stats.latencyMs("p/m")).toBe(100);
    stats.observe("p/m", { ttfbMs: 200, ok: true });
    expect(stats.latencyMs("p/m")).toBe(150);
    stats.observe("p/m", { ok: false }); // a failure without a time leaves the average as it was
    expect(stats.latencyMs("p/m")).toBe(150);
  });

  it("forgets a latency that has had no sample for five minutes, so the target is tried again", () => {
    const { clock, stats } = statsAt();
    stats.observe("p/m", { ttfbMs: 5000, ok: true });
    clock.now += 300_000;
    expect(stats.latencyMs("p/m")).toBe(5000);
    clock.now += 1;
    expect(stats.latencyMs("p/m")).toBeNull();
    stats.observe("p/m", { ttfbMs: 100, ok: true });
    expect(stats.latencyMs("p/m")).toBe(100); // a fresh start, not averaged with the stale figure
  });

  it("counts the error rate over the last 60 s in 10 s buckets", () => {
    const { clock, stats } = statsAt(1_700_000_000_000);
    for (let i = 0; i < 3; i++) stats.observe("p/m", { ok: false, code: "upstream_timeout" });
    stats.observe("p/m", { ok: true, ttfbMs: 50 });
    expect(stats.errorRate("p/m")).toBe(0.75);
    clock.now += 30_000;
    for (let i = 0; i < 4; i++) stats.observe("p/m", { ok: true, ttfbMs: 50 });
    expect(stats.errorRate("p/m")).toBe(3 / 8);
    clock.now += 30_000; // the first bucket has left the window
    expect(stats.errorRate("p/m")).toBe(0);
    clock.now += 60_000;
    expect(stats.errorRate("p/m")).toBeNull();
    stats.observe("p/m", { ok: false });
    expect(stats.errorRate("p/m")).toBe(1); // a reused slot starts from zero
  });

  it("lists every target for /admin/health with its counts and last error", () => {
    const { stats } = statsAt(Date.UTC(2026, 0, 2, 3, 4, 5));
    stats.observe("openai/gpt-4.1", { ttfbMs: 300, ok: true });
    stats.observe("anthropic/claude", { ok: false, code: "upstream_error" });
    expect(stats.snapshot()).toEqual([
      {
        id: "anthropic/claude",
        latencyMs: null,
        errorRate: 1,
        requests: 1,
        errors: 1,
        lastError: { at: "2026-01-02T03:04:05.000Z", code: "upstream_error" },
      },
      { id: "openai/gpt-4.1", latencyMs: 300, errorRate: 0, requests: 1, errors: 0 },
    ]);
  });

  it("keeps at most maxTargets, dropping the one observed longest ago", () => {
    const { stats } = statsAt(0, { maxTargets: 2 });
    stats.observe("a", { ok: true, ttfbMs: 1 });
    stats.observe("b", { ok: true, ttfbMs: 1 });
    stats.observe("a", { ok: true, ttfbMs: 1 });
    stats.observe("c", { ok: true, ttfbMs: 1 });
    expect(stats.snapshot().map((s) => s.id)).toEqual(["a", "c"]);
  });
});
