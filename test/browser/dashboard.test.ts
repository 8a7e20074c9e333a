import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { DEMO_MODELS, seedSpend } from "../../scripts/seed-spend.mjs";
import { ADMIN_TOKEN, browserAvailable, launchChromium, type Sluice, startSluice, until } from "./helpers";

/**
 * The dashboard in real Chromium, against the production bundle on workerd: sign in with the admin token, see
 * the totals the spend API reports, switch the period, filter by a key, sign out. Four weeks of seeded history
 * plus live calls through the gateway; the page is saved as test-output/dashboard.png (and, on request, as
 * docs/dashboard.png, which the README shows).
 */

const SEEDED = 2000;
/** Every run saves the page under test-output/; `SLUICE_UPDATE_SCREENSHOT=1` also refreshes the README's copy. */
const SCREENSHOTS = [
  path.resolve(import.meta.dirname, "../../test-output/dashboard.png"),
  ...(process.env.SLUICE_UPDATE_SCREENSHOT === "1"
    ? [path.resolve(import.meta.dirname, "../../docs/dashboard.png")]
    : []),
];
/** Mock providers named like the real ones, priced like them, so the page looks like a real deployment. */
const CONFIG = {
  providers: {
    openai: { type: "mock", models: ["gpt-4.1-mini", "gpt-4.1"] },
    anthropic: { type: "mock", models: ["claude-sonnet-4-5"] },
    gemini: { type: "mock", models: ["gemini-2.5-flash"] },
  },
  models: {},
  pricing: Object.fromEntries(
    (DEMO_MODELS as { model: string; input: number; output: number }[]).map((m) => [
      m.model,
      { input: m.input, output: m.output },
    ]),
  ),
};

interface Totals {
  requests: number;
  errors: number;
  costPicoUsd: string;
}

describe.skipIf(!browserAvailable)("The dashboard in Chromium", () => {
  let sluice: Sluice;
  let browser: Browser;
  let page: Page;
  let liveKey = "";
  let live = 0;

  const spend = async (query: string) =>
    (await sluice.admin<{ total: Totals }>("GET", `/admin/spend?${query}`)).total;
  /** What the page shows, and the range it covers. */
  const shown = async () => ({
    from: (await page.getAttribute("main", "data-from")) ?? "",
    to: (await page.getAttribute("main", "data-to")) ?? "",
    costPicoUsd: await page.getAttribute('[data-testid="total-spend"]', "data-pusd"),
    requests: Number(await page.getAttribute('[data-testid="total-requests"]', "data-count")),
    errors: Number(await page.getAttribute('[data-testid="error-rate"]', "data-errors")),
  });
  /** The API's totals for exactly the page's range (and filters). */
  const apiFor = (s: { from: string; to: string }, filter = "") =>
    spend(`from=${encodeURIComponent(s.from)}&to=${encodeURIComponent(s.to)}${filter}`);

  beforeAll(async () => {
    [sluice, browser] = await Promise.all([
      startSluice(
        { GATEWAY_CONFIG: JSON.stringify(CONFIG) },
        { seed: (persist) => seedSpend(persist, { rows: SEEDED, days: 28 }) },
      ),
      launchChromium(),
    ]);
    const keys = await Promise.all(
      [
        { name: "checkout-assistant", team: "product" },
        { name: "docs-search", team: "support" },
      ].map((k) => sluice.admin<{ id: string; key: string }>("POST", "/admin/keys", k)),
    );
    liveKey = keys[0]?.id ?? "";
    const models = [
      "openai/gpt-4.1-mini",
      "anthropic/claude-sonnet-4-5",
      "gemini/gemini-2.5-flash",
      "openai/fail-503",
    ];
    for (let i = 0; i < 24; i++) {
      const k = keys[i % 2];
      const res = await fetch(`${sluice.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${k?.key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: models[i % models.length],
          messages: [{ role: "user", content: `Question ${i}: where is my order?` }],
        }),
      });
      await res.text();
      live++;
    }
    // The ledger flushes about a second after a call; its first flush also rolls up the seeded history.
    const all = `from=2000-01-01&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    await until(
      "the spend ledger to hold every call",
      async () => (await spend(all)).requests === SEEDED + live,
    );
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await sluice?.stop();
  });

  it("asks for the admin token first, and refuses a wrong one", async () => {
    await page.goto(`${sluice.url}/dashboard`);
    expect(await page.isVisible("form.signin")).toBe(true);
    expect(await page.isVisible('[data-testid="total-spend"]')).toBe(false);
    await page.fill('input[name="token"]', "definitely-not-the-token");
    await page.click('button[type="submit"]');
    expect(await page.textContent('[role="alert"]')).toMatch(/not the admin token/);
  });

  it("signs in and shows the totals the spend API reports for the period", async () => {
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="total-spend"]');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "sluice_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    const s = await shown();
    const api = await apiFor(s);
    expect(s.requests).toBe(api.requests);
    expect(s.requests).toBe(SEEDED + live);
    expect(s.costPicoUsd).toBe(api.costPicoUsd);
    expect(s.errors).toBe(api.errors);
    // Readable: the spend card shows dollars, the chart one bar per day.
    expect(await page.textContent('[data-testid="total-spend"] .value')).toMatch(/^\$[\d,]+\.\d\d$/);
    expect(await page.locator('[data-testid="chart"] rect').count()).toBe(31);
    for (const file of SCREENSHOTS) {
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, fullPage: true });
    }
  });

  it("switches the period", async () => {
    await page.click('nav.periods a:has-text("Last 7 days")');
    await page.waitForURL(/period=7d/);
    const s = await shown();
    expect(Date.parse(s.to) - Date.parse(s.from)).toBe(7 * 86_400_000);
    const api = await apiFor(s);
    expect(s.requests).toBe(api.requests);
    expect(s.costPicoUsd).toBe(api.costPicoUsd);
    expect(s.requests).toBeLessThan(SEEDED + live);
    expect(await page.locator('[data-testid="chart"] rect').count()).toBe(8);
  });

  it("filters by key", async () => {
    await page.selectOption('select[name="key"]', liveKey);
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(new RegExp(`key=${liveKey}`));
    const s = await shown();
    const api = await apiFor(s, `&key=${liveKey}`);
    expect(s.requests).toBe(api.requests);
    expect(s.requests).toBe(live / 2);
    expect(s.costPicoUsd).toBe(api.costPicoUsd);
    const rows = await page.locator('[data-testid="recent"] tbody tr').allTextContents();
    expect(rows).toHaveLength(live / 2);
    for (const r of rows) expect(r).toMatch(/checkout-assistant/);
  });

  it("signs out", async () => {
    await page.click('header button:has-text("Sign out")');
    await page.waitForSelector("form.signin");
    expect((await page.context().cookies()).find((c) => c.name === "sluice_session")).toBeUndefined();
    await page.goto(`${sluice.url}/dashboard?period=30d`);
    expect(await page.isVisible('[data-testid="total-spend"]')).toBe(false);
  });
});
