// `npm run bench:dashboard`: how fast /dashboard renders over a large ledger. Seeds 100,000 spend rows over 90
// days into a fresh local D1, serves the production bundle (as `npm run serve`), lets the ledger roll the rows
// up, then times each dashboard period. Loopback only; bounded in time.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { seedSpend } from "../scripts/seed-spend.mjs";
import { build, startGateway } from "../scripts/serve-lib.mjs";
import { percentile } from "./stats.mjs";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "100000" }, samples: { type: "string", default: "15" } },
});
const ROWS = Number(values.rows);
const SAMPLES = Number(values.samples);
const DEADLINE_MS = 300_000;
const log = (m) => console.error(`[bench:dashboard] ${m}`);

const tmp = mkdtempSync(path.join(os.tmpdir(), "sluice-dash-bench-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
const deadline = setTimeout(() => {
  console.error(`Exceeded ${DEADLINE_MS / 1000} s.`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

const script = build(path.join(tmp, "dist"), { quiet: true });
const persist = path.join(tmp, "state");
log(`seeding ${ROWS} spend rows over 90 days…`);
seedSpend(persist, { rows: ROWS, days: 90 });
const adminToken = randomBytes(24).toString("hex");
const gw = await startGateway({ port: 0, persist, script, vars: { ADMIN_TOKEN: adminToken }, quiet: true });
try {
  const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const { key } = await (
    await fetch(`${gw.url}/admin/keys`, { method: "POST", headers: admin, body: '{"name":"bench"}' })
  ).json();
  // One real call: its flush also rolls the seeded rows up into spend_daily.
  await (
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "hi" }] }),
    })
  ).text();
  const all = `${gw.url}/admin/spend?from=2000-01-01&to=${new Date(Date.now() + 60_000).toISOString()}`;
  for (let i = 0; i < 300; i++) {
    const { total } = await (await fetch(all, { headers: admin })).json();
    if (total.requests === ROWS + 1) break;
    if (i === 299) throw new Error(`the ledger holds ${total.requests} rows, expected ${ROWS + 1}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  log("ledger rolled up; timing pages…");
  const time = async (url) => {
    const t0 = performance.now();
    const res = await fetch(url, { headers: admin });
    const body = await res.text();
    if (!res.ok || !body.includes('data-testid="total-spend"')) throw new Error(`${url}: ${res.status}`);
    return performance.now() - t0;
  };
  const rows = [];
  for (const [label, query] of [
    ["24 hours", "period=24h"],
    ["7 days", "period=7d"],
    ["30 days", "period=30d"],
    ["month to date", "period=mtd"],
    ["30 days, one key", "period=30d&key=key_demo_web"],
  ]) {
    const url = `${gw.url}/dashboard?${query}`;
    for (let i = 0; i < 3; i++) await time(url);
    const ms = [];
    for (let i = 0; i < SAMPLES; i++) ms.push(await time(url));
    rows.push(`| ${label} | ${percentile(ms, 50).toFixed(1)} | ${percentile(ms, 90).toFixed(1)} |`);
  }
  console.log(
    [
      `/dashboard over ${ROWS.toLocaleString("en-US")} spend rows (90 days), ${SAMPLES} sequential requests each:`,
      "",
      "| Period | median (ms) | p90 (ms) |",
      "| --- | --: | --: |",
      ...rows,
    ].join("\n"),
  );
} finally {
  await gw.stop();
}
process.exit(0);
