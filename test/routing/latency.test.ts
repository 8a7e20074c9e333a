import { describe, expect, it } from "vitest";
import { planAttempts } from "../../src/routing/plan";
import { TargetStats } from "../../src/routing/stats";
import { deps, facts, leaf, routeOf, seeded } from "./helpers";

const route = routeOf({ strategy: "latency", targets: [leaf("openai", "a"), leaf("groq", "b")] });

/**
 * Sends `calls` calls through latency plans; each goes to its plan's first target, which answers after that
 * target's current time to first byte (observed into the stats); the clock moves 100 ms per call. Returns the
 * share of calls each target served and how many were exploration.
 */
function simulate(
  stats: TargetStats,
  clock: { now: number },
  ttfb: Record<string, number>,
  random: () => number,
  calls = 1000,
) {
  const served: Record<string, number> = {};
  let explored = 0;
  for (let i = 0; i < calls; i++) {
    const first = planAttempts(route, facts(), deps({ random, latencyMs: (id) => stats.latencyMs(id) }))[0];
    if (!first) throw new Error("empty plan");
    const id = first.target.id;
    served[id] = (served[id] ?? 0) + 1 / calls;
    if (first.why === "latency:explore") explored++;
    stats.observe(id, { ttfbMs: ttfb[id] as number, ok: true });
    clock.now += 100;
  }
  return { served, explored };
}

describe("latency routing", () => {
  it("moves most traffic off a target that slowed, and back once it recovers", () => {
    const clock = { now: 1_700_000_000_000 };
    const stats = new TargetStats({ now: () => clock.now });
    const random = seeded(42);
    const healthy = simulate(stats, clock, { "openai/a": 100, "groq/b": 300 }, random);
    expect(healthy.served["openai/a"]).toBeGreaterThanOrEqual(0.8);

    const slowed = simulate(stats, clock, { "openai/a": 2000, "groq/b": 300 }, random);
    expect(slowed.served["groq/b"]).toBeGreaterThanOrEqual(0.8);

    const recovered = simulate(stats, clock, { "openai/a": 100, "groq/b": 300 }, random);
    expect(recovered.served["openai/a"]).toBeGreaterThanOrEqual(0.8);
    // Exploration (10 % by default) is what noticed the recovery.
    expect(recovered.explored / 1000).toBeGreaterThan(0.06);
    expect(recovered.explored / 1000).toBeLessThan(0.14);
  });

  it("tries a target with no latency yet first, then orders by the fastest", () => {
    const known: Record<string, number> = { "openai/a": 200 };
    const plan = planAttempts(
      route,
      facts(),
      deps({ random: () => 0.99, latencyMs: (id) => known[id] ?? null }),
    );
    expect(plan.map((p) => [p.target.id, p.why])).toEqual([
      ["groq/b", "latency"],
      ["openai/a", "latency"],
    ]);
    known["groq/b"] = 500;
    const next = planAttempts(
      route,
      facts(),
      deps({ random: () => 0.99, latencyMs: (id) => known[id] ?? null }),
    );
    expect(next.map((p) => p.target.id)).toEqual(["openai/a", "groq/b"]);
  });

  it("sends a call to another target first when the draw falls under explore", () => {
    const alias = { strategy: "latency", explore: 0.25, targets: [leaf("openai", "a"), leaf("groq", "b")] };
    const latencyMs = (id: string) => (id === "openai/a" ? 100 : 900);
    const draws = [0.2, 0.5];
    const plan = planAttempts(routeOf(alias), facts(), deps({ random: () => draws.shift() ?? 0, latencyMs }));
    expect(plan.map((p) => [p.target.id, p.why])).toEqual([
      ["groq/b", "latency:explore"],
      ["openai/a", "latency"],
    ]);
    const none = planAttempts(
      routeOf({ ...alias, explore: 0 }),
      facts(),
      deps({ random: () => 0, latencyMs }),
    );
    expect(none[0]?.target.id).toBe("openai/a");
  });
});
