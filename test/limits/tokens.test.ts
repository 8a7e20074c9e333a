import { afterEach, describe, expect, it, vi } from "vitest";
import { expectError } from "../helpers/errors";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";

const APP = "https://app.example.com";
const OTHER = "https://evil.example.net";
const CHAT = { model: "mock/echo", messages: [{ role: "user", content: "hi from the browser" }] };

afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(keyBody: Record<string, unknown> = { name: "web", browser: { origins: [APP] } }) {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const g = gateway();
  const res = await g.fetch("/admin/keys", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(keyBody),
  });
  const key = (await res.json()) as { id: string; key: string };
  return { g, key };
}

async function mint(g: Gateway, key: string, body: Record<string, unknown> = { user: "user-1" }) {
  return g.fetch("/v1/tokens", post(body, key));
}

async function tokenFor(g: Gateway, key: string, body?: Record<string, unknown>) {
  const res = await mint(g, key, body);
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string; expiresAt: string; id: string };
}

const fromPage = (origin: string, token: string, body: unknown = CHAT) => post(body, token, { origin });

describe("Browser tokens", () => {
  it("mints a short-lived token a page of an allowed origin can chat (and stream) with", async () => {
    const { g, key } = await setup();
    const t = await tokenFor(g, key.key, { user: "user-1", expiresIn: 600 });
    expect(t.token).toMatch(/^sbt_/);
    const ttl = Date.parse(t.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);

    const res = await g.fetch("/v1/chat/completions", fromPage(APP, t.token));
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
    expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1);

    const stream = await g.fetch("/v1/chat/completions", fromPage(APP, t.token, { ...CHAT, stream: true }));
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(stream.headers.get("access-control-allow-origin")).toBe(APP);
    expect(await stream.text()).toMatch(/data: \[DONE\]/);
  });

  it("records the token's end user on the call", async () => {
    const { g, key } = await setup();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const t = await tokenFor(g, key.key, { user: "end-user-77" });
    await (
      await g.fetch("/v1/chat/completions", fromPage(APP, t.token, { ...CHAT, user: "spoofed" }))
    ).text();
    await g.settle();
    const calls = log.mock.calls
      .map((c) => String(c[0]))
      .filter((l) => l.includes('"event":"sluice.call"'))
      .map((l) => JSON.parse(l) as { endUser: string; keyId: string });
    expect(calls.at(-1)).toMatchObject({ endUser: "end-user-77", keyId: key.id });
  });

  it("refuses a token from another origin, or without an Origin header", async () => {
    const { g, key } = await setup();
    const t = await tokenFor(g, key.key);
    const other = await g.fetch("/v1/chat/completions", fromPage(OTHER, t.token));
    await expectError(other, 403, "origin_not_allowed");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    await expectError(await g.fetch("/v1/chat/completions", post(CHAT, t.token)), 403, "origin_not_allowed");
  });

  it("answers preflights for allowed origins only, echoing the exact origin", async () => {
    const { g } = await setup();
    const preflight = (origin: string) =>
      g.fetch("/v1/chat/completions", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
    const ok = await preflight(APP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP);
    expect(ok.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(ok.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    expect(ok.headers.get("vary")).toMatch(/Origin/);
    const bad = await preflight(OTHER);
    await expectError(bad, 403, "origin_not_allowed");
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
    // Near misses are other origins.
    for (const near of [`${APP}/`, "http://app.example.com", "https://app.example.com:8443"]) {
      expect((await preflight(near)).headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("cannot mint tokens, read spend or reach /admin", async () => {
    const { g, key } = await setup();
    const t = await tokenFor(g, key.key);
    await expectError(
      await g.fetch("/v1/tokens", fromPage(APP, t.token, { user: "x" })),
      403,
      "token_not_allowed",
    );
    await expectError(
      await g.fetch("/v1/spend", { headers: { authorization: `Bearer ${t.token}`, origin: APP } }),
      403,
      "token_not_allowed",
    );
    await expectError(
      await g.fetch("/admin/keys", { headers: { authorization: `Bearer ${t.token}` } }),
      401,
      "invalid_admin_token",
    );
  });

  it("cannot outlive its expiry", async () => {
    const { g, key } = await setup();
    const t = await tokenFor(g, key.key, { user: "u", expiresIn: 1 });
    expect((await g.fetch("/v1/chat/completions", fromPage(APP, t.token))).status).toBe(200);
    // A controlled clock, not a sleep: only Date moves.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 1001);
      await expectError(await g.fetch("/v1/chat/completions", fromPage(APP, t.token)), 401, "key_expired");
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a tampered token, an expiry over an hour, and origins the key does not allow", async () => {
    const { g, key } = await setup();
    const t = await tokenFor(g, key.key);
    const [payload, sig] = t.token.slice(4).split(".");
    const claims = JSON.parse(atob((payload ?? "").replaceAll("-", "+").replaceAll("_", "/")));
    claims.exp += 86_400_000;
    const forged = `sbt_${btoa(JSON.stringify(claims)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}.${sig}`;
    await expectError(await g.fetch("/v1/chat/completions", fromPage(APP, forged)), 401, "invalid_api_key");
    await expectError(
      await mint(g, key.key, { user: "u", expiresIn: 3601 }),
      400,
      "invalid_request",
      "expiresIn",
    );
    await expectError(
      await mint(g, key.key, { user: "u", origins: [OTHER] }),
      400,
      "invalid_request",
      "origins",
    );
    await expectError(await mint(g, key.key, {}), 400, "invalid_request", "user");
  });

  it("counts a token's calls against its own limits and its parent key's", async () => {
    const { g, key } = await setup({ name: "web", rpm: 3, browser: { origins: [APP] } });
    const a = await tokenFor(g, key.key, { user: "a", rpm: 2 });
    const b = await tokenFor(g, key.key, { user: "b", rpm: 10 });
    expect((await g.fetch("/v1/chat/completions", fromPage(APP, a.token))).status).toBe(200);
    expect((await g.fetch("/v1/chat/completions", fromPage(APP, a.token))).status).toBe(200);
    const own = await g.fetch("/v1/chat/completions", fromPage(APP, a.token));
    await expectError(own, 429, "rate_limit_exceeded");
    expect(own.headers.get("access-control-allow-origin")).toBe(APP); // the page can read why
    expect((await g.fetch("/v1/chat/completions", fromPage(APP, b.token))).status).toBe(200);
    // The parent's 3 a minute are used up (2 by a, 1 by b): b is refused although its own limit has room.
    await expectError(
      await g.fetch("/v1/chat/completions", fromPage(APP, b.token)),
      429,
      "rate_limit_exceeded",
    );
  });

  it("restricts models to the token's patterns within the key's", async () => {
    const { g, key } = await setup({ name: "web", models: ["mock/*"], browser: { origins: [APP] } });
    const t = await tokenFor(g, key.key, { user: "u", models: ["mock/echo"] });
    expect((await g.fetch("/v1/chat/completions", fromPage(APP, t.token))).status).toBe(200);
    const lorem = await g.fetch(
      "/v1/chat/completions",
      fromPage(APP, t.token, { ...CHAT, model: "mock/lorem" }),
    );
    await expectError(lorem, 403, "model_not_allowed", "model");
    const demo = await g.fetch("/v1/chat/completions", fromPage(APP, t.token, { ...CHAT, model: "demo" }));
    await expectError(demo, 403, "model_not_allowed", "model");
  });

  it("stops working when the parent key is revoked", async () => {
    const { g, key } = await setup();
    const t = await tokenFor(g, key.key);
    await g.fetch(`/admin/keys/${key.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await expectError(await g.fetch("/v1/chat/completions", fromPage(APP, t.token)), 401, "invalid_api_key");
  });
});

describe("Keys and browsers", () => {
  it("refuses a key not marked for browser use when an Origin header is present", async () => {
    const { g, key } = await setup({ name: "server-only" });
    await expectError(
      await g.fetch("/v1/chat/completions", fromPage(APP, key.key)),
      403,
      "origin_not_allowed",
    );
    expect((await g.fetch("/v1/chat/completions", post(CHAT, key.key))).status).toBe(200);
    await expectError(await mint(g, key.key), 403, "token_not_allowed");
  });

  it("refuses a browser key from an origin it does not list", async () => {
    const { g, key } = await setup();
    await expectError(
      await g.fetch("/v1/chat/completions", fromPage(OTHER, key.key)),
      403,
      "origin_not_allowed",
    );
    expect((await g.fetch("/v1/chat/completions", fromPage(APP, key.key))).status).toBe(200);
  });
});
