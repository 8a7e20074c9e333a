import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminHeaders, expectError } from "../helpers/errors";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";

const hi = [{ role: "user", content: "hi" }];

afterEach(() => {
  vi.useRealTimers();
});

function admin(g: Gateway, method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  return g.fetch(path, {
    method,
    headers: adminHeaders(token),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function create(g: Gateway, body: Record<string, unknown> = { name: "sec" }) {
  const res = await admin(g, "POST", "/admin/keys", body);
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string; prefix: string };
}

function chat(g: Gateway, key: string): Promise<Response> {
  return g.fetch("/v1/chat/completions", post({ model: "mock/echo", messages: hi }, key));
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Revokes a key behind the gateway's back, as another isolate's DELETE would look from this one. */
async function revokeInD1(id: string): Promise<void> {
  await env.DB.prepare("UPDATE keys SET revoked_at = ? WHERE id = ?")
    .bind(new Date().toISOString(), id)
    .run();
}

describe("the key secret is shown only once", () => {
  it("never appears in GET /admin/keys or GET /admin/keys/:id", async () => {
    const g = gateway();
    const k = await create(g);
    const list = await (await admin(g, "GET", "/admin/keys?limit=1000")).text();
    const one = await (await admin(g, "GET", `/admin/keys/${k.id}`)).text();
    expect(list).toContain(k.id);
    expect(one).toContain(k.id);
    for (const text of [list, one]) {
      expect(text).not.toContain(k.key);
      // Not even the random part on its own.
      expect(text).not.toContain(k.key.slice("sk-sluice-".length));
      expect(text).not.toMatch(/"key"\s*:/);
    }
  });

  it("is not in the revoke response either", async () => {
    const g = gateway();
    const k = await create(g);
    const text = await (await admin(g, "DELETE", `/admin/keys/${k.id}`)).text();
    expect(text).toContain(k.id);
    expect(text).not.toContain(k.key.slice("sk-sluice-".length));
  });
});

describe("D1 stores only the SHA-256 of the secret", () => {
  it("keeps the hash and no column holding the secret or its random part", async () => {
    const g = gateway();
    const k = await create(g, { name: "stored", team: "t", metadata: { a: "b" } });
    const row = await env.DB.prepare("SELECT * FROM keys WHERE id = ?")
      .bind(k.id)
      .first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    expect(row?.hash).toBe(await sha256Hex(k.key));
    const secretPart = k.key.slice("sk-sluice-".length);
    for (const [column, value] of Object.entries(row ?? {})) {
      const text = String(value);
      expect(text, column).not.toContain(k.key);
      expect(text, column).not.toContain(secretPart);
      // The display prefix shows at most a few characters of the random part.
      expect(text.includes(secretPart.slice(0, 8)), column).toBe(false);
    }
  });

  it("finds no row anywhere in the database that holds the secret", async () => {
    const g = gateway();
    const k = await create(g);
    const secretPart = k.key.slice("sk-sluice-".length);
    const { results: tables } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
    ).all<{ name: string }>();
    expect(tables.map((t) => t.name)).toContain("keys");
    for (const { name } of tables) {
      const { results } = await env.DB.prepare(`SELECT * FROM "${name}"`).all<Record<string, unknown>>();
      expect(JSON.stringify(results), name).not.toContain(secretPart);
    }
  });
});

describe("revocation reaches every isolate within keys.cacheTtlSeconds", () => {
  it("refuses a key revoked elsewhere once the cache entry is older than the TTL", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const g = gateway({
      providers: { mock: { type: "mock" } },
      keys: { cacheTtlSeconds: 30 },
    });
    const k = await create(g);
    expect((await chat(g, k.key)).status).toBe(200);

    await revokeInD1(k.id);
    // Still cached in this isolate: the revocation made elsewhere is not seen yet.
    vi.setSystemTime(t0 + 29_000);
    expect((await chat(g, k.key)).status).toBe(200);

    // Past the TTL the lookup goes back to D1 and sees the revocation.
    vi.setSystemTime(t0 + 30_001);
    const body = await expectError(await chat(g, k.key), 401, "invalid_api_key");
    expect(body.error.message).toMatch(/revoked/);
    await g.settle();
  });

  it("refuses a key revoked elsewhere on the next call when cacheTtlSeconds is 0", async () => {
    const g = gateway({ providers: { mock: { type: "mock" } }, keys: { cacheTtlSeconds: 0 } });
    const k = await create(g);
    expect((await chat(g, k.key)).status).toBe(200);
    await revokeInD1(k.id);
    await expectError(await chat(g, k.key), 401, "invalid_api_key");
    await g.settle();
  });

  it("serves a warm key from the cache without asking D1 within the TTL", async () => {
    // A key deleted from D1 outright keeps working while cached: proof that warm requests skip D1.
    const g = gateway({ providers: { mock: { type: "mock" } }, keys: { cacheTtlSeconds: 60 } });
    const k = await create(g);
    expect((await chat(g, k.key)).status).toBe(200);
    await env.DB.prepare("UPDATE keys SET hash = 'gone' WHERE id = ?").bind(k.id).run();
    expect((await chat(g, k.key)).status).toBe(200);
    await g.settle();
  });
});

describe("expired keys", () => {
  it("are refused with 401 key_expired once expiresAt has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    // A cache TTL longer than the key's remaining life: the cached record must still be checked.
    const g = gateway({ providers: { mock: { type: "mock" } }, keys: { cacheTtlSeconds: 300 } });
    const expiresAt = new Date(t0 + 60_000).toISOString();
    const k = await create(g, { name: "short-lived", expiresAt });
    expect((await chat(g, k.key)).status).toBe(200);

    vi.setSystemTime(t0 + 59_000);
    expect((await chat(g, k.key)).status).toBe(200);
    // Still cached, but the expiry is checked on every request.
    vi.setSystemTime(t0 + 60_001);
    const body = await expectError(await chat(g, k.key), 401, "key_expired");
    expect(body.error.type).toBe("authentication_error");
    expect(body.error.message).toContain(expiresAt);
    const view = (await (await admin(g, "GET", `/admin/keys/${k.id}`)).json()) as { status: string };
    expect(view.status).toBe("expired");
    await g.settle();
  });

  it("are refused when expires_at is already past in D1 on first use", async () => {
    const g = gateway();
    const k = await create(g, { name: "pre-expired" });
    await env.DB.prepare("UPDATE keys SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), k.id)
      .run();
    await expectError(await chat(g, k.key), 401, "key_expired");
  });
});

describe("admin endpoints need ADMIN_TOKEN", () => {
  // Forged credentials on every admin route: auth-matrix.security.test.ts. An unknown admin path too:
  it("refuses an unknown /admin path without a token (401, not 404)", async () => {
    const res = await gateway().fetch("/admin/anything");
    const body = await expectError(res, 401, "invalid_admin_token");
    expect(body.error.type).toBe("authentication_error");
  });

  it("does not create a key when the token is wrong", async () => {
    const g = gateway();
    const name = `unauthorised-${crypto.randomUUID()}`;
    await admin(g, "POST", "/admin/keys", { name }, "wrong-token-wrong-token");
    const row = await env.DB.prepare("SELECT id FROM keys WHERE name = ?").bind(name).first();
    expect(row).toBeNull();
  });

  it("refuses a Sluice key on /admin, so clients cannot mint or list keys", async () => {
    const g = gateway();
    const k = await create(g);
    await expectError(await admin(g, "GET", "/admin/keys", undefined, k.key), 401, "invalid_admin_token");
    await expectError(
      await admin(g, "POST", "/admin/keys", { name: "escalate" }, k.key),
      401,
      "invalid_admin_token",
    );
    await expectError(
      await admin(g, "DELETE", `/admin/keys/${k.id}`, undefined, k.key),
      401,
      "invalid_admin_token",
    );
    // The key still works where it belongs.
    expect((await chat(g, k.key)).status).toBe(200);
    await g.settle();
  });

  it("does not accept ADMIN_TOKEN as a Sluice key on /v1", async () => {
    await expectError(await chat(gateway(), ADMIN_TOKEN), 401, "invalid_api_key");
  });
});
