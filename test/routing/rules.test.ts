import { describe, expect, it } from "vitest";
import { planAttempts } from "../../src/routing/plan";
import { type Condition, conditionHolds, globMatch, type RequestFacts } from "../../src/routing/rules";
import { deps, facts, leaf, routeOf } from "./helpers";

const holds = (when: Condition, over: Partial<RequestFacts> = {}) => conditionHolds(when, facts(over));

describe("rule conditions", () => {
  it("matches keys by id or by a glob over the key's name", () => {
    expect(holds({ keys: ["key_1"] })).toBe(true);
    expect(holds({ keys: ["ci-*"] }, { keyName: "ci-nightly" })).toBe(true);
    expect(holds({ keys: ["ci-*", "web"] })).toBe(true);
    expect(holds({ keys: ["ci-*"] })).toBe(false);
    expect(holds({ keys: ["ci-*"] }, { keyId: null, keyName: null })).toBe(false);
  });

  it("matches globs anywhere in a name, with * standing for any run of characters", () => {
    expect(globMatch("*-prod", "api-prod")).toBe(true);
    expect(globMatch("a*b*c", "a-b-c")).toBe(true);
    expect(globMatch("a*b*c", "a-c-b")).toBe(false);
    expect(globMatch("ab*ba", "aba")).toBe(false);
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("web", "web2")).toBe(false);
  });

  it("matches teams", () => {
    expect(holds({ teams: ["research"] }, { team: "research" })).toBe(true);
    expect(holds({ teams: ["research"] }, { team: "sales" })).toBe(false);
    expect(holds({ teams: ["research"] })).toBe(false);
  });

  it("needs every metadata tag given, with exactly its string value", () => {
    const when = { metadata: { tier: "free", app: "chat" } };
    expect(holds(when, { metadata: { tier: "free", app: "chat", user: "u1" } })).toBe(true);
    expect(holds(when, { metadata: { tier: "free" } })).toBe(false);
    expect(holds(when, { metadata: { tier: "paid", app: "chat" } })).toBe(false);
    expect(holds({ metadata: { n: "1" } }, { metadata: { n: 1 } })).toBe(false);
    expect(holds({ metadata: { toString: "x" } }, { metadata: {} })).toBe(false);
    expect(holds(when)).toBe(false);
  });

  it("bounds the estimated input tokens", () => {
    expect(holds({ inputTokens: { lt: 1000 } }, { inputTokens: 999 })).toBe(true);
    expect(holds({ inputTokens: { lt: 1000 } }, { inputTokens: 1000 })).toBe(false);
    expect(holds({ inputTokens: { lte: 1000 } }, { inputTokens: 1000 })).toBe(true);
    expect(holds({ inputTokens: { gt: 1000 } }, { inputTokens: 1000 })).toBe(false);
    expect(holds({ inputTokens: { gte: 1000, lt: 2000 } }, { inputTokens: 1500 })).toBe(true);
    expect(holds({ inputTokens: { gte: 1000, lt: 2000 } }, { inputTokens: 2500 })).toBe(false);
  });

  it("tells requests with tools or images, and the inbound format", () => {
    expect(holds({ tools: true }, { tools: true })).toBe(true);
    expect(holds({ tools: true })).toBe(false);
    expect(holds({ tools: false })).toBe(true);
    expect(holds({ images: true }, { images: true })).toBe(true);
    expect(holds({ images: false }, { images: true })).toBe(false);
    expect(holds({ format: ["messages", "responses"] }, { format: "messages" })).toBe(true);
    expect(holds({ format: ["messages"] })).toBe(false);
  });

  it("needs every field of a condition to hold, and an empty condition holds always", () => {
    const when = { teams: ["research"], tools: true };
    expect(holds(when, { team: "research", tools: true })).toBe(true);
    expect(holds(when, { team: "research" })).toBe(false);
    expect(holds(when, { tools: true })).toBe(false);
    expect(holds({})).toBe(true);
  });
});

describe("conditional routing", () => {
  const route = routeOf({
    strategy: "conditional",
    rules: [
      { when: { inputTokens: { lt: 500 }, tools: false }, use: 1 },
      { when: { keys: ["ci-*"] }, use: 2 },
      { when: { format: ["messages"] }, use: 1 },
    ],
    default: 0,
    targets: [
      leaf("anthropic", "claude-sonnet"),
      leaf("groq", "llama"),
      { strategy: "loadbalance", targets: [leaf("local", "llama3.2", 1), leaf("openai", "gpt-4.1-mini", 1)] },
    ],
  });
  const plan = (over: Partial<RequestFacts>) =>
    planAttempts(route, facts(over), deps({ random: () => 0.1 })).map((p) => [p.target.path, p.why]);

  it("sends a call to the target of the first rule that holds, and only there", () => {
    expect(plan({ inputTokens: 100 })).toEqual([["1", "rule:0"]]);
    // A CI key with a small request: the first rule wins.
    expect(plan({ inputTokens: 100, keyName: "ci-nightly" })).toEqual([["1", "rule:0"]]);
  });

  it("plans a chosen group by its own strategy", () => {
    expect(plan({ inputTokens: 5000, keyName: "ci-nightly" })).toEqual([
      ["2.0", "rule:1>loadbalance"],
      ["2.1", "rule:1>loadbalance"],
    ]);
  });

  it("falls to the default when no rule holds", () => {
    expect(plan({ inputTokens: 5000 })).toEqual([["0", "default"]]);
    expect(plan({ inputTokens: 100, tools: true })).toEqual([["0", "default"]]);
    expect(plan({ inputTokens: 5000, format: "messages" })).toEqual([["1", "rule:2"]]);
  });
});
