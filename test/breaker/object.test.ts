import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { clock, SETTINGS, targetId } from "./fixtures";

const stub = (id: string) => env.BREAKERS.get(env.BREAKERS.idFromName(id));

describe("The CircuitBreaker object", () => {
  it("holds the state across calls: opens at the configured failures in the window, half-opens by time", async () => {
    const c = clock();
    const id = targetId();
    expect((await stub(id).report(false, SETTINGS, c.now())).open).toBe(false);
    c.advance(SETTINGS.windowMs); // the first failure leaves the window
    await stub(id).report(false, SETTINGS, c.now());
    await stub(id).report(false, SETTINGS, c.now());
    expect((await stub(id).read()).open).toBe(false);
    const opened = await stub(id).report(false, SETTINGS, c.now());
    expect(opened).toMatchObject({ open: true, openedAt: c.now(), forced: false, settings: SETTINGS });
    expect(opened.failures).toHaveLength(3);
    c.advance(SETTINGS.cooldownMs);
    expect(await stub(id).report(true, SETTINGS, c.now())).toMatchObject({ open: false, failures: [] });
  });

  it("lists itself in the index once it has recorded something", async () => {
    const id = targetId();
    await stub(id).force("open");
    expect(await env.BREAKERS.get(env.BREAKERS.idFromName("breakers:index")).ids()).toContain(id);
  });
});
