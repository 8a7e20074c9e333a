import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, BASE, type Gateway, gateway, post } from "../helpers/gateway";
import { flushSpend } from "../spend/ledger-helpers";

const CONFIG = {
  providers: { mock: { type: "mock", models: ["echo", "lorem"] } },
  models: {},
  pricing: { "mock/echo": { input: 2, output: 8 } },
};

afterEach(() => {
  vi.restoreAllMocks();
});

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual",
});

async function signIn(g: Gateway): Promise<string> {
  const res = await g.fetch("/dashboard/login", form({ token: ADMIN_TOKEN }));
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/dashboard");
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0] ?? "";
}

const page = (g: Gateway, path: string, cookie: string) => g.fetch(path, { headers: { cookie } });

/** The value of `data-<attr>` on the element with `data-testid=<id>`. */
function dataOf(html: string, id: string, attr: string): string | undefined {
  const tag = new RegExp(`<[^>]*data-testid="${id}"[^>]*>`).exec(html)?.[0] ?? "";
  return new RegExp(`data-${attr}="([^"]*)"`).exec(tag)?.[1];
}

async function traffic(g: Gateway) {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const a = await g.createKey({ name: "alpha", team: "search" });
  const b = await g.createKey({ name: "beta", team: "chat" });
  const send = (key: string, model: string) =>
    g.fetch(
      "/v1/chat/completions",
      post({ model, messages: [{ role: "user", content: "hello dashboard" }] }, key),
    );
  for (const r of await Promise.all([
    send(a, "mock/echo"),
    send(a, "mock/echo"),
    send(a, "mock/lorem"),
    send(b, "mock/echo"),
    send(b, "mock/fail-503"),
  ]))
    await r.text();
  await g.settle();
  await flushSpend();
  return { a, b };
}

async function spendApi(g: Gateway, query: string) {
  const res = await g.fetch(`/admin/spend?${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return ((await res.json()) as { total: Record<string, number | string> }).total;
}

describe("/dashboard sign-in", () => {
  it("shows only the sign-in form without a session", async () => {
    const g = gateway(CONFIG);
    const res = await g.fetch("/dashboard");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<form class="signin" method="post" action="\/dashboard\/login"/);
    expect(html).not.toMatch(/data-testid="total-spend"/);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("refuses a wrong token with 401 and sets no cookie", async () => {
    const g = gateway(CONFIG);
    const res = await g.fetch("/dashboard/login", form({ token: "not-the-token-at-all" }));
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toMatch(/not the admin token/);
  });

  it("sets an HttpOnly, SameSite=Strict session cookie scoped to /dashboard, and logout clears it", async () => {
    const g = gateway(CONFIG);
    const res = await g.fetch("/dashboard/login", form({ token: ADMIN_TOKEN }));
    const set = res.headers.get("set-cookie") ?? "";
    expect(set).toMatch(/^sluice_session=/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Path=\/dashboard/);
    expect(set).toMatch(/Max-Age=43200/);
    const cookie = set.split(";")[0] ?? "";
    expect(await (await page(g, "/dashboard", cookie)).text()).toMatch(/data-testid="total-spend"/);
    const out = await g.fetch("/dashboard/logout", {
      method: "POST",
      headers: { cookie },
      redirect: "manual",
    });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/^sluice_session=;.*Max-Age=0/);
  });

  it("refuses a tampered cookie, one signed with another admin token, and an expired one", async () => {
    const g = gateway(CONFIG);
    const cookie = await signIn(g);
    const [name, value] = cookie.split("=");
    const [payload, sig] = (value ?? "").split(".");
    const later = `v1:${Date.now() + 10 * 86_400_000}`;
    const signedIn = async (c: string) =>
      (await (await page(g, "/dashboard", c)).text()).includes("total-spend");
    expect(await signedIn(cookie)).toBe(true);
    expect(await signedIn(`${name}=${later}.${sig}`)).toBe(false);
    expect(await signedIn(`${name}=${payload}.${(sig ?? "").slice(0, -2)}AA`)).toBe(false);
    // The same cookie is worthless once ADMIN_TOKEN changes.
    const rotated = gateway(CONFIG, { ADMIN_TOKEN: "another-admin-token-0123456789" });
    expect((await (await page(rotated, "/dashboard", cookie)).text()).includes("total-spend")).toBe(false);
    // Expired: signed correctly, but past its time.
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + 13 * 3600 * 1000);
    expect(await signedIn(cookie)).toBe(false);
  });

  it("refuses a sign-in posted from another site", async () => {
    const g = gateway(CONFIG);
    const res = await g.fetch(
      "/dashboard/login",
      form({ token: ADMIN_TOKEN }, { origin: "https://evil.example" }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
    const same = await g.fetch("/dashboard/login", form({ token: ADMIN_TOKEN }, { origin: BASE }));
    expect(same.status).toBe(303);
  });

  it("accepts the admin token as a bearer header (scripts)", async () => {
    const g = gateway(CONFIG);
    const res = await g.fetch("/dashboard", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await res.text()).toMatch(/data-testid="total-spend"/);
    const wrong = await g.fetch("/dashboard", { headers: { authorization: "Bearer nope-nope-nope-nope" } });
    expect(await wrong.text()).not.toMatch(/data-testid="total-spend"/);
  });
});

describe("/dashboard numbers", () => {
  it("shows the totals /admin/spend reports for the period, and narrows to a key", async () => {
    const g = gateway(CONFIG);
    const { a } = await traffic(g);
    const cookie = await signIn(g);
    const now = Date.now();
    const from = new Date(now - 30 * 86_400_000).toISOString();
    const to = new Date(now + 1000).toISOString();
    const api = await spendApi(g, `from=${from}&to=${to}`);
    const html = await (await page(g, "/dashboard?period=30d", cookie)).text();
    expect(dataOf(html, "total-spend", "pusd")).toBe(String(api.costPicoUsd));
    expect(dataOf(html, "total-requests", "count")).toBe(String(api.requests));
    expect(dataOf(html, "error-rate", "errors")).toBe(String(api.errors));
    expect(Number(dataOf(html, "total-requests", "count"))).toBeGreaterThanOrEqual(5);

    const keyId = (
      await env.DB.prepare("SELECT id FROM keys WHERE name = 'alpha' ORDER BY created_at DESC").first<{
        id: string;
      }>()
    )?.id;
    expect(keyId).toBeDefined();
    const one = await spendApi(g, `from=${from}&to=${to}&key=${keyId}`);
    const filtered = await (await page(g, `/dashboard?period=30d&key=${keyId}`, cookie)).text();
    expect(dataOf(filtered, "total-requests", "count")).toBe(String(one.requests));
    expect(one.requests).toBe(3);
    expect(dataOf(filtered, "total-spend", "pusd")).toBe(String(one.costPicoUsd));
    // Recent requests and the key breakdown name the key; the unpriced call is shown as such, not $0.
    expect(filtered).toMatch(/alpha \(sk-sluice-/);
    expect(filtered).toMatch(/class="n unpriced">unpriced</);
    expect(a).toMatch(/^sk-sluice-/);
  });

  it("draws one bar per hour for 24 h and per day otherwise", async () => {
    const g = gateway(CONFIG);
    await traffic(g);
    const cookie = await signIn(g);
    const bars = (html: string) => (/<svg[\s\S]*?<\/svg>/.exec(html)?.[0].match(/<rect /g) ?? []).length;
    expect(bars(await (await page(g, "/dashboard?period=24h", cookie)).text())).toBe(25);
    expect(bars(await (await page(g, "/dashboard?period=7d", cookie)).text())).toBe(8);
  });

  it("answers a bad period with a 400 page that says what is wrong", async () => {
    const g = gateway(CONFIG);
    const cookie = await signIn(g);
    const res = await page(g, "/dashboard?period=1y", cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Unknown period &#39;1y&#39;|Unknown period '1y'/);
  });

  it("escapes what users typed (filters, key names)", async () => {
    const g = gateway(CONFIG);
    const cookie = await signIn(g);
    await g.createKey({ name: "<script>alert(1)</script>" });
    const html = await (
      await page(g, `/dashboard?model=${encodeURIComponent('"><img src=x>')}`, cookie)
    ).text();
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toMatch(/"><img src=x>/);
    expect(html).toMatch(/&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });
});

describe("/dashboard response cache", () => {
  it("shows a caching alias's hits, misses and savings", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const alias = `faq-${crypto.randomUUID().slice(0, 8)}`;
    const g = gateway({
      ...CONFIG,
      models: { [alias]: { targets: [{ provider: "mock", model: "echo" }], cache: { mode: "exact" } } },
    });
    const key = await g.createKey({ name: "cache-dash" });
    const ask = () =>
      g.fetch(
        "/v1/chat/completions",
        post({ model: alias, messages: [{ role: "user", content: "cache me" }] }, key),
      );
    for (let i = 0; i < 3; i++) {
      await (await ask()).text();
      await g.settle();
    }
    await flushSpend();
    const html = await (await page(g, "/dashboard", await signIn(g))).text();
    const row = new RegExp(`<tr data-alias="${alias}">(.*?)</tr>`, "s").exec(html)?.[1] ?? "";
    const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((m) =>
      m[1]?.replace(/<[^>]+>/g, "").trim(),
    );
    expect(cells.slice(0, 4)).toEqual([alias, "2", "0", "1"]);
    expect(cells[4]).toMatch(/^\$0\.0+[1-9]/); // the two hits' saving: small, not zero
  });
});
