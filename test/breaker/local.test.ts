import { describe, expect, it } from "vitest";
import { localBreakers } from "../../src/routing/breaker/local";
import { clock, SETTINGS, targetId } from "./fixtures";

/** The in-isolate twin runs the same state machine as the shared breakers, so these also pin the machine. */
describe("The local breakers (no BREAKERS binding)", () => {
  const make = () => {
    const c = clock();
    return { c, b: localBreakers({}, { now: c.now }) };
  };

  it("opens after the configured failures within the window, and then skips the target", () => {
    const { c, b } = make();
    const id = targetId();
    for (let i = 0; i < 2; i++) {
      expect(b.allow(id, SETTINGS)).toEqual({ allowed: true, probe: false, state: "closed" });
      b.report(id, SETTINGS, false);
      c.advance(100);
    }
    expect(b.allow(id, SETTINGS).allowed).toBe(true);
    b.report(id, SETTINGS, false);
    expect(b.allow(id, SETTINGS)).toEqual({ allowed: false, probe: false, state: "open" });
  });

  it("does not open for as many failures spread beyond the window", () => {
    const { c, b } = make();
    const id = targetId();
    for (let i = 0; i < 6; i++) {
      b.report(id, SETTINGS, false);
      c.advance(SETTINGS.windowMs / 2);
    }
    expect(b.allow(id, SETTINGS).state).toBe("closed");
  });

  it("does not count successes against failures, nor close an open breaker with a late success", () => {
    const { c, b } = make();
    const id = targetId();
    for (let i = 0; i < 3; i++) {
      b.report(id, SETTINGS, true);
      b.report(id, SETTINGS, false);
    }
    expect(b.allow(id, SETTINGS).state).toBe("open");
    b.report(id, SETTINGS, true);
    c.advance(SETTINGS.cooldownMs - 1);
    expect(b.allow(id, SETTINGS).state).toBe("open");
  });

  it("half-opens after the cooldown with exactly one probe, which closes it on success", () => {
    const { c, b } = make();
    const id = targetId();
    for (let i = 0; i < 3; i++) b.report(id, SETTINGS, false);
    c.advance(SETTINGS.cooldownMs);
    expect(b.allow(id, SETTINGS)).toEqual({ allowed: true, probe: true, state: "half-open" });
    expect(b.allow(id, SETTINGS)).toEqual({ allowed: false, probe: false, state: "half-open" });
    b.report(id, SETTINGS, true);
    expect(b.allow(id, SETTINGS)).toEqual({ allowed: true, probe: false, state: "closed" });
  });

  it("reopens for another cooldown when the probe fails", () => {
    const { c, b } = make();
    const id = targetId();
    for (let i = 0; i < 3; i++) b.report(id, SETTINGS, false);
    c.advance(SETTINGS.cooldownMs);
    expect(b.allow(id, SETTINGS).probe).toBe(true);
    b.report(id, SETTINGS, false);
    c.advance(SETTINGS.cooldownMs - 1);
    expect(b.allow(id, SETTINGS).state).toBe("open");
    c.advance(1);
    expect(b.allow(id, SETTINGS).probe).toBe(true);
  });

  it("lets another probe through when the first was never reported for a cooldown", () => {
    const { c, b } = make();
    const id = targetId();
    for (let i = 0; i < 3; i++) b.report(id, SETTINGS, false);
    c.advance(SETTINGS.cooldownMs);
    expect(b.allow(id, SETTINGS).probe).toBe(true);
    c.advance(SETTINGS.cooldownMs);
    expect(b.allow(id, SETTINGS).probe).toBe(true);
  });

  it("holds a forced open without probes until it is closed by hand, which clears the failures", async () => {
    const { c, b } = make();
    const id = targetId();
    b.report(id, SETTINGS, false);
    b.report(id, SETTINGS, false);
    expect((await b.force(id, "open")).forced).toBe(true);
    c.advance(SETTINGS.cooldownMs * 10);
    expect(b.allow(id, SETTINGS)).toEqual({ allowed: false, probe: false, state: "open" });
    const closed = await b.force(id, "closed");
    expect(closed).toMatchObject({ id, state: "closed", failures: 0, forced: false, openedAt: null });
    b.report(id, SETTINGS, false);
    expect(b.allow(id, SETTINGS).state).toBe("closed");
  });

  it("keeps one table per env object and lists what this isolate has seen", async () => {
    const c = clock();
    const envA = {};
    const id = targetId();
    for (let i = 0; i < 3; i++) localBreakers(envA, { now: c.now }).report(id, SETTINGS, false);
    expect(localBreakers(envA).allow(id, SETTINGS).state).toBe("open");
    expect(localBreakers({}).allow(id, SETTINGS).state).toBe("closed");
    const list = await localBreakers(envA).list();
    expect(list).toEqual([
      { id, state: "open", failures: 3, openedAt: c.now(), forced: false, settings: SETTINGS },
    ]);
  });
});
