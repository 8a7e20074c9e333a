import { describe, expect, it } from "vitest";
import { resolveModel } from "../../src/config/resolve";
import { planAttempts, pricePerMTok } from "../../src/routing/plan";
import { configWith, deps, facts, leaf, routeOf } from "./helpers";

const ids = (plan: { target: { id: string } }[]) => plan.map((p) => p.target.id);

describe("fallback", () => {
  it("tries the targets in declared order", () => {
    const route = routeOf({ targets: [leaf("openai", "a"), leaf("groq", "b"), leaf("local", "c")] });
    expect(planAttempts(route, facts(), deps())).toEqual([
      { target: route.targets[0], why: "fallback" },
      { target: route.targets[1], why: "fallback" },
      { target: route.targets[2], why: "fallback" },
    ]);
  });

  it("gives a direct provider/model one target at path 0", () => {
    const route = resolveModel(
      configWith({ targets: [leaf("openai", "a")] }),
      "groq/llama-3.3-70b-versatile",
    );
    expect(route.targets.map((t) => [t.path, t.id])).toEqual([["0", "groq/llama-3.3-70b-versatile"]]);
    expect(planAttempts(route, facts(), deps()).map((p) => p.why)).toEqual(["fallback"]);
  });
});

describe("cost routing", () => {
  const alias = {
    strategy: "cost",
    targets: [leaf("openai", "dear"), leaf("local", "free"), leaf("groq", "cheap")],
  };
  const prices: Record<string, number | null> = { "openai/dear": 12, "local/free": null, "groq/cheap": 0.9 };

  it("puts the cheaper priced target first and unpriced ones last", () => {
    const plan = planAttempts(routeOf(alias), facts(), deps({ pricePerMTok: (t) => prices[t.id] ?? null }));
    expect(plan.map((p) => [p.target.id, p.why])).toEqual([
      ["groq/cheap", "cost"],
      ["openai/dear", "cost"],
      ["local/free", "cost:unpriced"],
    ]);
  });

  it("keeps declared order between equal prices", () => {
    const plan = planAttempts(
      routeOf(alias),
      facts(),
      deps({ pricePerMTok: (t) => (t.id === "local/free" ? null : 1) }),
    );
    expect(ids(plan)).toEqual(["openai/dear", "groq/cheap", "local/free"]);
  });

  it("prices targets from the config's pricing and the price table (input + output per million tokens)", () => {
    const cfg = configWith(
      {
        strategy: "cost",
        targets: [leaf("openai", "gpt-4.1"), leaf("local", "llama3.2"), leaf("openai", "house")],
      },
      { pricing: { "openai/house": { input: 0.1, output: 0.4 } } },
    );
    const route = resolveModel(cfg, "m");
    const price = pricePerMTok(cfg);
    expect(price(route.targets[2] as (typeof route.targets)[number])).toBeCloseTo(0.5);
    expect(price(route.targets[1] as (typeof route.targets)[number])).toBeNull();
    const table = price(route.targets[0] as (typeof route.targets)[number]);
    expect(table).toBeGreaterThan(0.5);
    expect(ids(planAttempts(route, facts(), deps({ pricePerMTok: price })))).toEqual([
      "openai/house",
      "openai/gpt-4.1",
      "local/llama3.2",
    ]);
  });
});

describe("nested groups", () => {
  const alias = {
    strategy: "fallback",
    targets: [
      leaf("anthropic", "claude"),
      {
        strategy: "cost",
        targets: [
          leaf("openai", "gpt-4.1"),
          { strategy: "loadbalance", targets: [leaf("groq", "llama", 1), leaf("local", "llama3.2", 1)] },
        ],
      },
      leaf("openai", "gpt-4.1-mini"),
    ],
  };

  it("numbers each target by its position, nested groups joined by dots, and lists every leaf in order", () => {
    const route = routeOf(alias);
    expect(route.targets.map((t) => [t.path, t.id])).toEqual([
      ["0", "anthropic/claude"],
      ["1.0", "openai/gpt-4.1"],
      ["1.1.0", "groq/llama"],
      ["1.1.1", "local/llama3.2"],
      ["2", "openai/gpt-4.1-mini"],
    ]);
    expect(route.tree.children[1]).toMatchObject({ path: "1", strategy: "cost" });
  });

  it("splices each group's own order in its place, the reasons from the root down", () => {
    const route = routeOf(alias);
    const prices: Record<string, number> = { "openai/gpt-4.1": 10, "groq/llama": 0.7, "local/llama3.2": 0.2 };
    const plan = planAttempts(
      route,
      facts(),
      deps({ random: () => 0.9, pricePerMTok: (t) => prices[t.id] ?? null }),
    );
    expect(plan.map((p) => [p.target.path, p.why])).toEqual([
      ["0", "fallback"],
      // The load-balanced group counts as its cheapest target (0.2) and goes before gpt-4.1 (10).
      ["1.1.1", "fallback>cost>loadbalance"],
      ["1.1.0", "fallback>cost>loadbalance"],
      ["1.0", "fallback>cost"],
      ["2", "fallback"],
    ]);
  });
});

describe("open breakers", () => {
  it("moves targets whose breaker is open to the end, marked skip, the others in their order", () => {
    const route = routeOf({
      targets: [
        leaf("openai", "a"),
        { strategy: "fallback", targets: [leaf("groq", "b"), leaf("local", "c")] },
      ],
    });
    const open = new Set(["openai/a", "groq/b"]);
    const plan = planAttempts(route, facts(), deps({ open: (id) => open.has(id) }));
    expect(plan.map((p) => [p.target.id, p.why, p.skip])).toEqual([
      ["local/c", "fallback>fallback", undefined],
      ["openai/a", "fallback:open", true],
      ["groq/b", "fallback>fallback:open", true],
    ]);
  });

  it("does not explore, nor rank by, a target that is open", () => {
    const route = routeOf({
      strategy: "latency",
      targets: [leaf("openai", "a"), leaf("groq", "b"), leaf("local", "c")],
    });
    const latencyMs = (id: string) => ({ "openai/a": 50, "groq/b": 400, "local/c": 900 })[id] ?? null;
    const plan = planAttempts(
      route,
      facts(),
      deps({ random: () => 0, latencyMs, open: (id) => id === "groq/b" }),
    );
    expect(plan.map((p) => [p.target.id, p.why])).toEqual([
      ["local/c", "latency:explore"],
      ["openai/a", "latency"],
      ["groq/b", "latency:open"],
    ]);
  });
});
