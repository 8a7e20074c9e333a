import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, gateway } from "../helpers/gateway";
import { targetId } from "./fixtures";

const admin = (method: string, body?: unknown): RequestInit => ({
  method,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

interface Health {
  object: string;
  targets: { id: string; state: string; failures: number; openedAt: string | null; forced: boolean }[];
}

describe("GET /admin/health and PUT /admin/breakers/{provider}/{model}", () => {
  it("opens a breaker by hand, and every gateway on the namespace lists it open and forced", async () => {
    const id = targetId();
    const res = await gateway().fetch(`/admin/breakers/${id}`, admin("PUT", { state: "open" }));
    expect(res.status).toBe(200);
    const forced = (await res.json()) as Record<string, unknown>;
    expect(forced).toMatchObject({ object: "breaker", id, state: "open", forced: true, failures: 0 });
    expect(Date.parse(forced.openedAt as string)).toBeGreaterThan(0);

    const other = gateway();
    const health = (await (await other.fetch("/admin/health", admin("GET"))).json()) as Health;
    expect(health.object).toBe("health");
    expect(health.targets.find((t) => t.id === id)).toMatchObject({ state: "open", forced: true });
    await other.settle();
  });

  it("closes a forced breaker by hand, for every isolate", async () => {
    const id = targetId();
    await (await gateway().fetch(`/admin/breakers/${id}`, admin("PUT", { state: "open" }))).text();
    const res = await gateway().fetch(`/admin/breakers/${id}`, admin("PUT", { state: "closed" }));
    expect(await res.json()).toMatchObject({ id, state: "closed", forced: false, openedAt: null });
    const health = (await (await gateway().fetch("/admin/health", admin("GET"))).json()) as Health;
    expect(health.targets.find((t) => t.id === id)).toMatchObject({ state: "closed", forced: false });
  });

  it("takes a model id holding slashes", async () => {
    const res = await gateway().fetch(
      "/admin/breakers/workers-ai/@cf/meta/llama-x",
      admin("PUT", { state: "closed" }),
    );
    expect(await res.json()).toMatchObject({ id: "workers-ai/@cf/meta/llama-x", state: "closed" });
  });

  it("refuses a state other than open or closed, naming the field", async () => {
    const res = await gateway().fetch(`/admin/breakers/${targetId()}`, admin("PUT", { state: "half-open" }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("state");
  });

  it("works from the isolate's own breakers when BREAKERS is not bound", async () => {
    const g = gateway(undefined, { BREAKERS: undefined });
    const id = targetId();
    await (await g.fetch(`/admin/breakers/${id}`, admin("PUT", { state: "open" }))).text();
    const health = (await (await g.fetch("/admin/health", admin("GET"))).json()) as Health;
    expect(health.targets.find((t) => t.id === id)).toMatchObject({ state: "open", forced: true });
    const shared = (await (await gateway().fetch("/admin/health", admin("GET"))).json()) as Health;
    expect(shared.targets.some((t) => t.id === id)).toBe(false);
    expect(env.BREAKERS).toBeDefined();
  });
});
