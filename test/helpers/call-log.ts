import type { MockInstance } from "vitest";

/** The call records a gateway logged (`"event":"sluice.call"` lines) into a `console.log` spy, in order. */
export function loggedCalls(log: MockInstance<(...args: unknown[]) => void>): Record<string, unknown>[] {
  return log.mock.calls
    .map((args) => args[0])
    .filter((a): a is string => typeof a === "string" && a.includes('"event":"sluice.call"'))
    .map((a) => JSON.parse(a) as Record<string, unknown>);
}
