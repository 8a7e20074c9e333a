import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema";
import { describeIssues } from "../../src/http/validate";
import { expectError } from "../helpers/errors";
import { gateway } from "../helpers/gateway";
import { configWith, leaf, PROVIDERS, routeOf } from "./helpers";

/** The config_invalid message for alias `m` (what every request would answer with). */
function problems(alias: Record<string, unknown>): string {
  const r = configSchema.safeParse({ providers: PROVIDERS, models: { m: alias } });
  if (r.success) throw new Error("the config was accepted");
  return describeIssues(r.error);
}

describe("routing config", () => {
  it("keeps today's fields and defaults", () => {
    const route = routeOf({ targets: [leaf("openai", "a")] });
    expect(route).toMatchObject({
      strategy: "fallback",
      retry: { attempts: 1, backoffMs: 250, on: [408, 409, 429, 500, 502, 503, 504, 529] },
      timeoutMs: 60_000,
      firstTokenTimeoutMs: null,
      idleTimeoutMs: null,
      deadlineMs: null,
      breaker: null,
      cache: null,
    });
    expect(route.targets[0]).toMatchObject({
      providerName: "openai",
      model: "a",
      weight: 1,
      path: "0",
      id: "openai/a",
    });
  });

  it("carries retry statuses, timeouts, the deadline and the breaker into the route", () => {
    const route = routeOf({
      targets: [leaf("openai", "a")],
      retry: { attempts: 3, on: [429, 503] },
      firstTokenTimeoutMs: 5000,
      idleTimeoutMs: 20_000,
      deadlineMs: 90_000,
      breaker: { failures: 3 },
    });
    expect(route.retry).toEqual({ attempts: 3, backoffMs: 250, on: [429, 503] });
    expect(route).toMatchObject({ firstTokenTimeoutMs: 5000, idleTimeoutMs: 20_000, deadlineMs: 90_000 });
    expect(route.breaker).toEqual({ failures: 3, windowMs: 60_000, cooldownMs: 30_000 });
  });

  it("names an unknown provider inside a nested group by its path", () => {
    const message = problems({
      targets: [
        leaf("openai", "a"),
        { strategy: "fallback", targets: [leaf("groq", "b"), leaf("nope", "c")] },
      ],
    });
    expect(message).toBe("models.m.targets[1].targets[1].provider: unknown provider 'nope'");
  });

  it("names a rule or default pointing past the group's targets", () => {
    const targets = [leaf("openai", "a"), leaf("groq", "b")];
    expect(problems({ strategy: "conditional", targets, rules: [{ when: {}, use: 2 }] })).toBe(
      "models.m.rules[0].use: no target 2: this group's targets are 0–1",
    );
    expect(problems({ strategy: "conditional", targets, default: 5 })).toBe(
      "models.m.default: no target 5: this group's targets are 0–1",
    );
    expect(problems({ strategy: "conditional", targets: [] })).toBe(
      "models.m.targets: Too small: expected array to have >=1 items",
    );
    expect(problems({ targets, rules: [{ when: {}, use: 0 }] })).toContain(
      "models.m.rules: rules apply to strategy 'conditional' only",
    );
  });

  it("names a mistake in a target or a group against the shape it was meant as", () => {
    expect(problems({ targets: [{ provider: "openai", modle: "a" }] })).toContain(
      "models.m.targets[0].model",
    );
    expect(problems({ targets: [{ strategy: "fastest", targets: [leaf("openai", "a")] }] })).toContain(
      "models.m.targets[0].strategy",
    );
    expect(
      problems({
        strategy: "conditional",
        targets: [leaf("openai", "a")],
        rules: [{ when: { tool: true }, use: 0 }],
      }),
    ).toContain("models.m.rules[0].when");
    expect(problems({ targets: [leaf("openai", "a")], deadlineMs: 0 })).toContain("models.m.deadlineMs");
    expect(problems({ targets: [leaf("openai", "a")], breaker: { failures: 0 } })).toContain(
      "models.m.breaker.failures",
    );
  });

  it("answers every request with config_invalid naming the nested field", async () => {
    const g = gateway({
      providers: { mock: { type: "mock" } },
      models: { m: { targets: [{ targets: [{ provider: "ghost", model: "x" }] }] } },
    });
    const body = await expectError(await g.fetch("/healthz"), 500, "config_invalid");
    expect(body.error.message).toContain("models.m.targets[0].targets[0].provider");
  });

  it("parses the contract's example config", () => {
    expect(() =>
      configWith({
        strategy: "fallback",
        targets: [leaf("anthropic", "claude-sonnet-4-5"), leaf("openai", "gpt-4.1")],
        retry: { attempts: 2 },
        timeoutMs: 60000,
      }),
    ).not.toThrow();
  });
});
