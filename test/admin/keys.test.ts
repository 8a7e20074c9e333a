import { describe, expect, it } from "vitest";
import { adminHeaders, expectError } from "../helpers/errors";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";

interface KeyView {
  id: string;
  object: string;
  name: string;
  team: string | null;
  models: string[] | null;
  metadata: Record<string, unknown>;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  status: string;
  key?: string;
}

const hi = [{ role: "user", content: "hi" }];

function admin(g: Gateway, method: string, path: string, body?: unknown): Promise<Response> {
  return g.fetch(path, {
    method,
    headers: adminHeaders(ADMIN_TOKEN),
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

async function create(g: Gateway, body: Record<string, unknown>): Promise<KeyView & { key: string }> {
  const res = await admin(g, "POST", "/admin/keys", body);
  expect(res.status).toBe(201);
  return (await res.json()) as KeyView & { key: string };
}

function chat(g: Gateway, key: string, model = "mock/echo"): Promise<Response> {
  return g.fetch("/v1/chat/completions", post({ model, messages: hi }, key));
}

describe("POST /admin/keys creates a key", () => {
  it("returns 201 with the id, the secret and every setting it was given", async () => {
    const g = gateway();
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await admin(g, "POST", "/admin/keys", {
      name: "billing service",
      team: "payments",
      models: ["mock/*", "demo"],
      metadata: { owner: "ana@example.com", tier: 2, internal: true },
      expiresAt,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const k = (await res.json()) as KeyView;
    expect(k.id).toMatch(/^key_\w+$/);
    expect(k.key).toMatch(/^sk-sluice-[0-9A-Za-z]{40}$/);
    expect(k).toMatchObject({
      object: "key",
      name: "billing service",
      team: "payments",
      models: ["mock/*", "demo"],
      metadata: { owner: "ana@example.com", tier: 2, internal: true },
      expiresAt,
      revokedAt: null,
      status: "active",
    });
    expect(Date.parse(k.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    // The display prefix identifies the key without revealing it.
    expect(k.key?.startsWith(k.prefix.replace("…", ""))).toBe(true);
    expect(k.prefix.replace("…", "").length).toBeLessThan(20);
  });

  it("defaults team, models, metadata and expiresAt when only a name is given", async () => {
    const k = await create(gateway(), { name: "minimal" });
    expect(k).toMatchObject({ team: null, models: null, metadata: {}, expiresAt: null, status: "active" });
  });

  it("makes a key that works on /v1/chat/completions at once", async () => {
    const g = gateway();
    const k = await create(g, { name: "works" });
    const res = await chat(g, k.key);
    expect(res.status).toBe(200);
    await g.settle();
  });

  it("makes a different secret and id every time", async () => {
    const g = gateway();
    const a = await create(g, { name: "a" });
    const b = await create(g, { name: "a" });
    expect(a.id).not.toBe(b.id);
    expect(a.key).not.toBe(b.key);
  });

  it("normalises expiresAt with an offset to UTC", async () => {
    // now+1h's UTC wall-clock time read at offset -02:00: an instant three hours ahead.
    const future = new Date(Date.now() + 3_600_000);
    const local = `${future.toISOString().slice(0, 19)}-02:00`;
    const k = await create(gateway(), { name: "tz", expiresAt: local });
    expect(k.expiresAt).toBe(new Date(local).toISOString());
  });
});

describe("GET /admin/keys and /admin/keys/:id read keys", () => {
  it("lists created keys newest first", async () => {
    const g = gateway();
    const a = await create(g, { name: "list-a" });
    const b = await create(g, { name: "list-b", team: "t" });
    const res = await admin(g, "GET", "/admin/keys?limit=1000");
    expect(res.status).toBe(200);
    const list = (await res.json()) as { object: string; data: KeyView[]; hasMore: boolean };
    expect(list.object).toBe("list");
    const ids = list.data.map((k) => k.id);
    expect(ids).toContain(a.id);
    expect(ids).toContain(b.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    expect(list.data.find((k) => k.id === b.id)).toMatchObject({
      name: "list-b",
      team: "t",
      status: "active",
    });
  });

  it("pages with limit and after", async () => {
    const g = gateway();
    await create(g, { name: "p1" });
    await create(g, { name: "p2" });
    await create(g, { name: "p3" });
    const first = (await (await admin(g, "GET", "/admin/keys?limit=2")).json()) as {
      data: KeyView[];
      hasMore: boolean;
    };
    expect(first.data).toHaveLength(2);
    expect(first.hasMore).toBe(true);
    const last = first.data[1]?.id;
    const second = (await (await admin(g, "GET", `/admin/keys?limit=2&after=${last}`)).json()) as {
      data: KeyView[];
    };
    expect(second.data.length).toBeGreaterThan(0);
    const firstIds = new Set(first.data.map((k) => k.id));
    for (const k of second.data) expect(firstIds.has(k.id)).toBe(false);
  });

  it("reads one key by id with its settings", async () => {
    const g = gateway();
    const k = await create(g, { name: "one", models: ["mock/echo"], metadata: { env: "prod" } });
    const res = await admin(g, "GET", `/admin/keys/${k.id}`);
    expect(res.status).toBe(200);
    const got = (await res.json()) as KeyView;
    expect(got).toMatchObject({
      id: k.id,
      name: "one",
      models: ["mock/echo"],
      metadata: { env: "prod" },
      prefix: k.prefix,
      createdAt: k.createdAt,
      status: "active",
    });
  });

  it("answers 404 not_found naming the id for an unknown key", async () => {
    const g = gateway();
    await expectError(await admin(g, "GET", "/admin/keys/key_doesnotexist"), 404, "not_found", "id");
    await expectError(await admin(g, "DELETE", "/admin/keys/key_doesnotexist"), 404, "not_found", "id");
  });
});

describe("DELETE /admin/keys/:id revokes a key", () => {
  it("refuses the key with 401 on the very next call in the same isolate, even though it was cached", async () => {
    const g = gateway();
    const k = await create(g, { name: "to-revoke" });
    // A first call caches the key lookup in this isolate.
    expect((await chat(g, k.key)).status).toBe(200);
    const res = await admin(g, "DELETE", `/admin/keys/${k.id}`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as KeyView;
    expect(view.status).toBe("revoked");
    expect(view.revokedAt).not.toBeNull();
    const body = await expectError(await chat(g, k.key), 401, "invalid_api_key");
    expect(body.error.message).toMatch(/revoked/);
    await g.settle();
  });

  it("shows the key as revoked afterwards and keeps the first revocation time", async () => {
    const g = gateway();
    const k = await create(g, { name: "twice" });
    const first = (await (await admin(g, "DELETE", `/admin/keys/${k.id}`)).json()) as KeyView;
    const second = (await (await admin(g, "DELETE", `/admin/keys/${k.id}`)).json()) as KeyView;
    expect(second.revokedAt).toBe(first.revokedAt);
    const got = (await (await admin(g, "GET", `/admin/keys/${k.id}`)).json()) as KeyView;
    expect(got).toMatchObject({ status: "revoked", revokedAt: first.revokedAt });
  });

  it("leaves other keys working", async () => {
    const g = gateway();
    const a = await create(g, { name: "revoked" });
    const b = await create(g, { name: "kept" });
    await admin(g, "DELETE", `/admin/keys/${a.id}`);
    expect((await chat(g, b.key)).status).toBe(200);
    await g.settle();
  });
});

describe("POST /admin/keys refuses bad input with 400 naming the parameter", () => {
  const cases: [string, unknown, string][] = [
    ["a missing name", { team: "x" }, "name"],
    ["an empty name", { name: "   " }, "name"],
    ["a name that is not a string", { name: 42 }, "name"],
    ["models that is a string", { name: "x", models: "mock/*" }, "models"],
    ["a model pattern that is not a string", { name: "x", models: ["ok", 3] }, "models[1]"],
    ["metadata that is an array", { name: "x", metadata: ["a"] }, "metadata"],
    ["a nested metadata value", { name: "x", metadata: { a: { b: 1 } } }, "metadata.a"],
    ["team that is a number", { name: "x", team: 7 }, "team"],
    ["an unknown field", { name: "x", budgett: 5 }, "budgett"],
    ["an expiresAt that is not a date", { name: "x", expiresAt: "tomorrow" }, "expiresAt"],
    ["an expiresAt in the past", { name: "x", expiresAt: "2020-01-01T00:00:00Z" }, "expiresAt"],
  ];
  for (const [what, body, param] of cases) {
    it(`refuses ${what}`, async () => {
      const res = await admin(gateway(), "POST", "/admin/keys", body);
      const err = await expectError(res, 400, "invalid_request", param);
      expect(err.error.type).toBe("invalid_request_error");
      expect(err.error.message).toContain(param.replace(/\[\d+\]$/, ""));
    });
  }

  it("refuses a body that is not JSON with 400 invalid_json", async () => {
    await expectError(await admin(gateway(), "POST", "/admin/keys", "{name:"), 400, "invalid_json");
  });

  it("refuses a JSON body that is not an object", async () => {
    await expectError(await admin(gateway(), "POST", "/admin/keys", "[]"), 400, "invalid_request");
  });

  it("stores nothing when the input is refused", async () => {
    const g = gateway();
    const name = `refused-${crypto.randomUUID()}`;
    await admin(g, "POST", "/admin/keys", { name, unknown: 1 });
    const list = (await (await admin(g, "GET", "/admin/keys?limit=1000")).json()) as { data: KeyView[] };
    expect(list.data.some((k) => k.name === name)).toBe(false);
  });
});
