import { describe, expect, it } from "vitest";
import { cacheAffinity, rendezvousOrder } from "../../src/config/affinity";
import { planAttempts } from "../../src/routing/plan";
import { deps, facts, leaf, routeOf, seeded } from "./helpers";

const DRAWS = 10_000;
/** How far each target's share of first places may sit from its weight's share: ±2 percentage points. */
const TOLERANCE = 0.02;

/** Each model's share of first places over DRAWS plans with a seeded random. */
function firstShares(weights: number[], seed = 7): Record<string, number> {
  const route = routeOf({
    strategy: "loadbalance",
    targets: weights.map((w, i) => leaf("openai", `m${i}`, w)),
  });
  const random = seeded(seed);
  const counts: Record<string, number> = {};
  for (let i = 0; i < DRAWS; i++) {
    const plan = planAttempts(route, facts(), deps({ random }));
    const first = plan[0]?.target.model as string;
    counts[first] = (counts[first] ?? 0) + 1;
  }
  return Object.fromEntries(weights.map((_, i) => [`m${i}`, (counts[`m${i}`] ?? 0) / DRAWS]));
}

describe("weighted load balancing", () => {
  it("puts each target first in proportion to its weight, within ±2 points over 10,000 draws", () => {
    const weights = [5, 3, 2];
    const shares = firstShares(weights);
    const total = weights.reduce((s, w) => s + w, 0);
    weights.forEach((w, i) => {
      expect(Math.abs((shares[`m${i}`] as number) - w / total)).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  it("uses a tolerance that tells ignored or inverted weights apart", () => {
    // What a plan that ignored the weights, or inverted them, would measure: both miss 50 / 30 / 20 by far more.
    for (const wrong of [firstShares([1, 1, 1]), firstShares([2, 3, 5])]) {
      expect(Math.abs((wrong.m0 as number) - 0.5)).toBeGreaterThan(5 * TOLERANCE);
    }
  });

  it("keeps every other target behind the drawn one as a fallback, each once", () => {
    const route = routeOf({
      strategy: "loadbalance",
      targets: [leaf("openai", "a", 1), leaf("groq", "b", 1), leaf("local", "c", 1)],
    });
    const random = seeded(3);
    for (let i = 0; i < 50; i++) {
      const plan = planAttempts(route, facts(), deps({ random }));
      expect(plan.map((p) => p.target.path).sort()).toEqual(["0", "1", "2"]);
      expect(plan.every((p) => p.why === "loadbalance" && p.skip === undefined)).toBe(true);
    }
  });

  it("keeps a conversation's prompt prefix on the target its affinity hashes to, as before groups", () => {
    const route = routeOf({
      strategy: "loadbalance",
      targets: [leaf("openai", "a", 3), leaf("groq", "b", 1)],
    });
    const body = {
      model: "m",
      messages: [
        { role: "system", content: "You are a coding agent." },
        { role: "user", content: "hi" },
      ],
    };
    const random = seeded(5);
    const plans = Array.from({ length: 20 }, () => planAttempts(route, facts({ body }), deps({ random })));
    const expected = rendezvousOrder(route.targets, (t) => t.id, cacheAffinity(body) as string);
    for (const plan of plans) {
      expect(plan.map((p) => p.target)).toEqual(expected);
      expect(plan[0]?.why).toBe("loadbalance:affinity");
    }
  });
});
