import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { clock, countedNamespace, isolate, SETTINGS, targetId } from "./fixtures";

const fail = (b: ReturnType<typeof isolate>["breakers"], id: string, n: number) => {
  for (let i = 0; i < n; i++) b.report(id, SETTINGS, false);
};

describe("The shared breakers (BREAKERS Durable Objects)", () => {
  it("open in the isolate that saw the failures at once, before the object has answered", () => {
    const c = clock();
    const a = isolate({ now: c.now });
    const id = targetId();
    fail(a.breakers, id, 3);
    expect(a.breakers.allow(id, SETTINGS)).toEqual({ allowed: false, probe: false, state: "open" });
    return a.drain();
  });

  it("reach a second isolate within its refresh interval", async () => {
    const c = clock();
    const a = isolate({ now: c.now });
    const b = isolate({ now: c.now });
    const id = targetId();
    expect(b.breakers.allow(id, SETTINGS).state).toBe("closed");
    await b.drain();
    fail(a.breakers, id, 3);
    await a.drain();
    c.advance(999);
    expect(b.breakers.allow(id, SETTINGS).state).toBe("closed");
    c.advance(1);
    // The interval has passed: this call starts the refresh (and is decided on the view it has) …
    expect(b.breakers.allow(id, SETTINGS).allowed).toBe(true);
    await b.drain();
    // … and the next ones skip the target.
    expect(b.breakers.allow(id, SETTINGS)).toEqual({ allowed: false, probe: false, state: "open" });
  });

  it("count the failures of every isolate together", async () => {
    const c = clock();
    const a = isolate({ now: c.now });
    const b = isolate({ now: c.now });
    const id = targetId();
    fail(a.breakers, id, 2);
    await a.drain();
    c.advance(10);
    fail(b.breakers, id, 1);
    await b.drain();
    expect(b.breakers.allow(id, SETTINGS).state).toBe("open");
  });

  it("let one probe through per isolate after the cooldown; its success closes the breaker everywhere", async () => {
    const c = clock();
    const a = isolate({ now: c.now });
    const b = isolate({ now: c.now });
    const id = targetId();
    fail(a.breakers, id, 3);
    await a.drain();
    b.breakers.allow(id, SETTINGS);
    await b.drain();
    c.advance(SETTINGS.cooldownMs);
    expect(a.breakers.allow(id, SETTINGS)).toEqual({ allowed: true, probe: true, state: "half-open" });
    expect(a.breakers.allow(id, SETTINGS).allowed).toBe(false);
    await a.drain();
    expect(b.breakers.allow(id, SETTINGS).probe).toBe(true);
    a.breakers.report(id, SETTINGS, true);
    await a.drain();
    expect(a.breakers.allow(id, SETTINGS).state).toBe("closed");
    c.advance(1000);
    b.breakers.allow(id, SETTINGS);
    await b.drain();
    expect(b.breakers.allow(id, SETTINGS).state).toBe("closed");
  });

  it("reopen for another cooldown when a probe fails", async () => {
    const c = clock();
    const a = isolate({ now: c.now });
    const id = targetId();
    fail(a.breakers, id, 3);
    await a.drain();
    c.advance(SETTINGS.cooldownMs);
    expect(a.breakers.allow(id, SETTINGS).probe).toBe(true);
    a.breakers.report(id, SETTINGS, false);
    await a.drain();
    c.advance(SETTINGS.cooldownMs - 1);
    const fresh = isolate({ now: c.now });
    fresh.breakers.allow(id, SETTINGS);
    await fresh.drain();
    expect(fresh.breakers.allow(id, SETTINGS).state).toBe("open");
  });

  it("send no RPC on the healthy path beyond one refresh per interval", async () => {
    const c = clock();
    const { ns, calls } = countedNamespace();
    const a = isolate({ now: c.now, ns });
    const id = targetId();
    for (let i = 0; i < 100; i++) {
      expect(a.breakers.allow(id, SETTINGS).allowed).toBe(true);
      a.breakers.report(id, SETTINGS, true);
      c.advance(5);
    }
    await a.drain();
    expect(calls).toEqual(["read"]);
    c.advance(500);
    a.breakers.allow(id, SETTINGS);
    await a.drain();
    expect(calls).toEqual(["read", "read"]);
  });

  it("send each failure, and a probe's success, but not a success while closed", async () => {
    const c = clock();
    const { ns, calls } = countedNamespace();
    const a = isolate({ now: c.now, ns });
    const id = targetId();
    a.breakers.report(id, SETTINGS, true);
    fail(a.breakers, id, 3);
    fail(a.breakers, id, 2); // already open here: nothing new to say
    await a.drain();
    expect(calls).toEqual(["report", "report", "report"]);
    c.advance(SETTINGS.cooldownMs);
    expect(a.breakers.allow(id, SETTINGS).probe).toBe(true);
    a.breakers.report(id, SETTINGS, true);
    await a.drain();
    expect(calls.filter((m) => m === "report")).toHaveLength(4);
  });

  it("keep the isolate's own view when the object is unreachable", async () => {
    const c = clock();
    const broken = {
      idFromName: (n: string) => env.BREAKERS.idFromName(n),
      get: () => ({
        read: () => Promise.reject(new Error("unreachable")),
        report: () => Promise.reject(new Error("unreachable")),
      }),
    } as unknown as typeof env.BREAKERS;
    const a = isolate({ now: c.now, ns: broken });
    const id = targetId();
    expect(a.breakers.allow(id, SETTINGS).allowed).toBe(true);
    fail(a.breakers, id, 3);
    await a.drain();
    expect(a.breakers.allow(id, SETTINGS).state).toBe("open");
    c.advance(SETTINGS.cooldownMs);
    expect(a.breakers.allow(id, SETTINGS).probe).toBe(true);
    a.breakers.report(id, SETTINGS, true);
    await a.drain();
    expect(a.breakers.allow(id, SETTINGS).state).toBe("closed");
  });

  it("do not let an older refresh undo a newer local failure", async () => {
    const c = clock();
    const a = isolate({ now: c.now });
    const id = targetId();
    a.breakers.allow(id, SETTINGS); // a refresh is under way …
    fail(a.breakers, id, 3); // … when the failures open the breaker here
    await a.drain();
    expect(a.breakers.allow(id, SETTINGS).state).toBe("open");
  });
});
