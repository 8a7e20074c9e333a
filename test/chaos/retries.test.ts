import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveModel } from "../../src/config/resolve";
import { configSchema } from "../../src/config/schema";
import { GatewayError } from "../../src/http/errors";
import { callUpstream, DEFAULT_DEPS, type UpstreamDeps } from "../../src/pipeline/upstream";
import { installUpstreams } from "../helpers/upstream";

/**
 * callUpstream on its own (no Hono, no gateway): retries on `retry.on`, full-jitter backoff within its bounds,
 * Retry-After honoured up to its cap, and the deadline — with an injected clock, random and sleep, so the
 * waits are recorded instead of slept.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const messages = [{ role: "user", content: "hi" }];

function routeOf(alias: Record<string, unknown>) {
  const cfg = configSchema.parse({
    providers: { up: { type: "openai-compatible", baseUrl: "https://up.test/v1", apiKey: "k" } },
    models: { m: { targets: [{ provider: "up", model: "x" }], ...alias } },
  });
  return resolveModel(cfg, "m");
}

/** Deps whose sleep records the wait and moves a fake clock, and whose random is `r`. */
function recorded(r: () => number) {
  let clock = 1_000_000;
  const waits: number[] = [];
  const deps: UpstreamDeps = {
    ...DEFAULT_DEPS,
    now: () => clock,
    random: r,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
  };
  return { deps, waits, advance: (ms: number) => (clock += ms), now: () => clock };
}

const request = { op: "chat" as const, body: { model: "m", messages }, stream: false, env: {} };

describe("retries", () => {
  it("waits a full-jitter backoff: random × the doubling bound, capped at 10 s", async () => {
    const up = installUpstreams().add("https://up.test", { apiKey: "k" });
    up.failNext(5, { status: 503, message: "busy" });
    const route = routeOf({ retry: { attempts: 6, backoffMs: 1000 } });
    const { deps, waits } = recorded(() => 0.5);
    const r = await callUpstream(route, request, new AbortController().signal, deps);
    expect(r.retries).toBe(5);
    // Bounds 1 s, 2 s, 4 s, 8 s, then 16 s capped to 10 s; each wait is half its bound here.
    expect(waits).toEqual([500, 1000, 2000, 4000, 5000]);
  });

  it("spreads the waits over the whole range 0…bound (jitter), never past it", async () => {
    const samples: number[] = [];
    for (const r of [0, 0.25, 0.999]) {
      const up = installUpstreams().add("https://up.test", { apiKey: "k" });
      up.failNext(1, { status: 500, message: "x" });
      const { deps, waits } = recorded(() => r);
      await callUpstream(
        routeOf({ retry: { attempts: 2, backoffMs: 400 } }),
        request,
        new AbortController().signal,
        deps,
      );
      samples.push(...waits);
      vi.restoreAllMocks();
    }
    expect(samples).toEqual([0, 100, 399.6]);
  });

  it("honours Retry-After (instead of the jitter) up to 10 s", async () => {
    const up = installUpstreams().add("https://up.test", { apiKey: "k" });
    up.failNext(1, { status: 429, message: "slow", retryAfter: "3" });
    up.failNext(1, { status: 429, message: "slower", retryAfter: "120" });
    const { deps, waits } = recorded(() => 0.1);
    await callUpstream(
      routeOf({ retry: { attempts: 3, backoffMs: 100 } }),
      request,
      new AbortController().signal,
      deps,
    );
    expect(waits).toEqual([3000, 10_000]);
  });

  it("retries only the statuses of retry.on", async () => {
    const up = installUpstreams().add("https://up.test", { apiKey: "k" });
    up.failNext(1, { status: 503, message: "busy" });
    const { deps } = recorded(() => 0);
    const only500 = routeOf({ retry: { attempts: 3, backoffMs: 0, on: [500] } });
    const err = await callUpstream(only500, request, new AbortController().signal, deps).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(503);
    expect(up.requests).toHaveLength(1);
    up.failNext(1, { status: 500, message: "oops" });
    const ok = await callUpstream(only500, request, new AbortController().signal, deps);
    expect(ok.retries).toBe(1);
  });

  it("takes no wait that would outlast the deadline, and answers 504 once it has passed", async () => {
    const up = installUpstreams().add("https://up.test", { apiKey: "k" });
    up.failNext(3, { status: 503, message: "busy" });
    const { deps, waits, now } = recorded(() => 0.99);
    const route = routeOf({ retry: { attempts: 3, backoffMs: 1000 }, deadlineMs: 1500 });
    const err = (await callUpstream(
      route,
      { ...request, deadlineAt: now() + 1500 },
      new AbortController().signal,
      deps,
    ).catch((e) => e)) as GatewayError;
    // The first wait (990 ms) fits; the second (1,980 ms) would end past the deadline: not taken.
    expect(waits).toEqual([990]);
    expect(up.requests).toHaveLength(2);
    expect(err.status).toBe(503);
    // A call that arrives with its deadline already past makes no attempt at all.
    const late = (await callUpstream(
      route,
      { ...request, deadlineAt: now() - 1 },
      new AbortController().signal,
      deps,
    ).catch((e) => e)) as GatewayError;
    expect(late).toMatchObject({ status: 504, code: "upstream_timeout" });
    expect(up.requests).toHaveLength(2);
  });
});
