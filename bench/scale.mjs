// `npm run bench:scale`: what one unit of each scaling component does on this machine, for docs/SCALING.md.
// The production bundle on local workerd (as `npm run bench`), a loopback upstream answering at once, and:
// key lookups (isolate cache warm vs `keys.cacheTtlSeconds: 0`, a D1 query per call), one hot key's Limiter
// object (overlap, strict, strict over 4 shards), the cache tiers (exact and semantic hit vs upstream), the
// ledger (rows landed, time to land, D1 bytes per row, the admin spend query) and the flush transaction itself
// (bench/flush-worker.js timing `writeRows` of 100 and 1,000 rows; bytes per daily rollup row).
// Prints markdown tables and writes bench/results/scale.json. Every run is bounded: --seconds N per load run
// (default 5, at most 20), a fixed number of flushes, and a deadline of 170 s for the whole script.
import { spawnSync } from "node:child_process";

// wrangler and node:sqlite need Node 22: under an older `node`, run again with the project's pinned one.
if (Number(process.versions.node.split(".")[0]) < 22) {
  const pinned = new URL("../node_modules/.bin/node", import.meta.url).pathname;
  const r = spawnSync(pinned, [new URL(import.meta.url).pathname, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}

const { execFileSync } = await import("node:child_process");
const { randomBytes } = await import("node:crypto");
const fs = await import("node:fs");
const { createRequire } = await import("node:module");
const os = (await import("node:os")).default;
const path = (await import("node:path")).default;
const { parseArgs } = await import("node:util");
const { DatabaseSync } = await import("node:sqlite");
const { build, migrate, ROOT, serveWorker, startGateway, wranglerWorkerOptions } = await import(
  "../scripts/serve-lib.mjs"
);
const { load } = await import("./load.mjs");
const { percentile } = await import("./stats.mjs");
const { startUpstream } = await import("./upstream.mjs");

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
const SECONDS = Number(values.seconds);
if (!(SECONDS > 0 && SECONDS <= 20)) {
  console.error("--seconds must be between 0 and 20.");
  process.exit(2);
}
const WARMUP_SECONDS = 1;
const DEADLINE_MS = 170_000 + Math.max(0, SECONDS - 5) * 13_000;
/** Flush transactions timed: [rows per transaction, how many, distinct keys per transaction]. */
const FLUSHES = [
  { rows: 100, times: 10, keys: 1 },
  { rows: 1000, times: 30, keys: 1 },
  { rows: 1000, times: 5, keys: 1000 },
];
const HOT_KEYS = {
  overlap: { rpm: 10_000_000, limitMode: "overlap" },
  strict: { rpm: 10_000_000, budget: { usd: 1_000_000, period: "day" }, limitMode: "strict" },
  strict4: { rpm: 10_000_000, budget: { usd: 1_000_000, period: "day" }, limitMode: "strict", shards: 4 },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-scale-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => process.exit(128 + os.constants.signals[signal]));
const stops = [];
async function stopAll() {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
}
let failing;
function fail(err) {
  failing ??= (async () => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await stopAll();
    process.exit(1);
  })();
  return failing;
}
setTimeout(() => fail(`bench:scale exceeded ${DEADLINE_MS / 1000} s.`), DEADLINE_MS).unref();
const log = (msg) => console.error(`[scale] ${msg}`);
const round = (x, digits = 2) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));
const median = (xs) => percentile(xs, 50);

/** The local D1 database files under a persist root (Miniflare keeps one SQLite file per database). */
function d1Files(persist) {
  const dir = path.join(persist, "v3", "d1");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, f))
    .filter((f) => /\.sqlite(-wal)?$/.test(f) && fs.statSync(f).isFile());
}
/** The local D1 file holding the ledger (Miniflare keeps a metadata SQLite file beside the databases). */
function d1Path(persist) {
  const main = d1Files(persist).filter((f) => {
    if (!f.endsWith(".sqlite")) return false;
    const db = new DatabaseSync(f, { readOnly: true });
    try {
      return db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'spend'").get() !== undefined;
    } finally {
      db.close();
    }
  });
  if (main.length !== 1)
    throw new Error(`expected one ledger D1 file under ${persist}, found ${main.length}`);
  return main[0];
}
const d1Bytes = (persist) => d1Files(persist).reduce((n, f) => n + fs.statSync(f).size, 0);
/** Runs `fn` on a read-only connection to the local D1 file (opened and closed each time: a fresh snapshot). */
function withDb(persist, fn) {
  const db = new DatabaseSync(d1Path(persist), { readOnly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
/**
 * Bytes the ledger's tables take with their indexes (SQLite's dbstat: the pages each b-tree uses), by table,
 * and by b-tree name (the primary key's automatic index included).
 */
function ledgerBytes(db) {
  const rows = db
    .prepare(
      `SELECT d.name AS name, s.tbl_name AS tbl, SUM(d.pgsize) AS bytes FROM dbstat d
       JOIN sqlite_schema s ON s.name = d.name WHERE s.tbl_name IN ('spend', 'spend_daily') GROUP BY d.name`,
    )
    .all();
  const byTable = {};
  for (const r of rows) byTable[r.tbl] = (byTable[r.tbl] ?? 0) + r.bytes;
  return { byTable, byName: Object.fromEntries(rows.map((r) => [r.name, r.bytes])) };
}

const adminToken = randomBytes(24).toString("hex");
const ask = (model, content) => JSON.stringify({ model, messages: [{ role: "user", content }] });

async function gatewayWith(name, upstream, script, extra = {}) {
  const config = {
    providers: { up: { type: "openai-compatible", baseUrl: upstream.url, apiKey: "bench" } },
    models: {
      uncached: { targets: [{ provider: "up", model: "bench-model" }] },
      exact: { targets: [{ provider: "up", model: "bench-model" }], cache: { mode: "exact" } },
      semantic: { targets: [{ provider: "up", model: "bench-model" }], cache: { mode: "semantic" } },
    },
    pricing: { "bench-model": { input: 1, output: 2 } },
    cache: { localIndexVisibilityMs: 0 },
    ...extra,
  };
  const persist = path.join(tmp, name);
  log(`starting gateway ${name} (${JSON.stringify(extra)})…`);
  const gateway = await startGateway({
    port: 0,
    persist,
    script,
    vars: { ADMIN_TOKEN: adminToken, GATEWAY_CONFIG: JSON.stringify(config) },
    quiet: true,
  });
  stops.push(gateway.stop);
  const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const createKey = async (settings = {}) => {
    const res = await fetch(`${gateway.url}/admin/keys`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "scale", ...settings }),
    });
    if (res.status !== 201) throw new Error(`creating a key failed: ${res.status} ${await res.text()}`);
    return (await res.json()).key;
  };
  let sent = 0; // responses the load runs counted (warm-ups included): the rows the ledger should receive
  const run = async (label, key, body, connections) => {
    log(`${name} · ${label}: ${connections} connection(s), ${WARMUP_SECONDS} s + ${SECONDS} s…`);
    const opts = {
      url: `${gateway.url}/v1/chat/completions`,
      pid: gateway.pid,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body,
      connections,
    };
    sent += (await load({ ...opts, seconds: WARMUP_SECONDS })).requests;
    const r = await load({ ...opts, seconds: SECONDS });
    sent += r.requests;
    return {
      connections,
      rps: round(r.rps, 0),
      p50: round(r.p50),
      p99: round(r.p99),
      cpuMsPerReq: round(r.cpuMsPerReq),
    };
  };
  return { ...gateway, persist, admin, createKey, run, sent: () => sent, addSent: (n) => (sent += n) };
}

/** Waits until the ledger holds `expected` rows or stops growing for 3 s; returns rows and ms waited. */
async function waitForRows(persist, expected, startedAt) {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = withDb(persist, (db) => db.prepare("SELECT COUNT(*) AS n FROM spend").get().n);
    if (n !== last) [last, lastChange] = [n, Date.now()];
    if (n >= expected || Date.now() - lastChange > 3000 || Date.now() - startedAt > 20_000)
      return { rows: n, ms: (n >= expected ? lastChange : Date.now()) - startedAt };
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timeAdminSpend(gateway, query, samples = 20) {
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const res = await fetch(`${gateway.url}/admin/spend${query}`, { headers: gateway.admin });
    await res.text();
    if (res.status !== 200) throw new Error(`/admin/spend${query}: ${res.status}`);
    times.push(performance.now() - t);
  }
  return { medianMs: round(median(times)), p90Ms: round(percentile(times, 90)) };
}

async function bundleFlushWorker() {
  const wranglerRequire = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"));
  const esbuild = wranglerRequire("esbuild");
  const outfile = path.join(tmp, "flush-dist", "flush-worker.js");
  await esbuild.build({
    entryPoints: [path.join(ROOT, "bench/flush-worker.js")],
    bundle: true,
    format: "esm",
    target: "es2022",
    outfile,
    external: ["cloudflare:*", "node:*"],
    conditions: ["workerd", "worker", "browser"],
    logLevel: "error",
  });
  return outfile;
}

try {
  const started = Date.now();
  log("building the Worker (wrangler deploy --dry-run)…");
  const script = build(path.join(tmp, "dist"), { quiet: true });
  const upstream = await startUpstream({ ttfbMs: 0 });
  stops.push(upstream.stop);
  const plain = ask("up/bench-model", "Say hello.");
  const results = {};

  // Gateway A: the defaults (key cache 30 s, 4 spend shards). Keys warm, one hot Limiter key, cache tiers.
  const a = await gatewayWith("default", upstream, script);
  const bytesBefore = d1Bytes(a.persist);
  const workerd = execFileSync(`/proc/${a.pid}/exe`, ["--version"], { encoding: "utf8" })
    .replace("workerd", "")
    .trim();
  const plainKey = await a.createKey();
  results.keys = { warm: [], cold: [] };
  for (const c of [1, 10]) results.keys.warm.push(await a.run("key, cache warm", plainKey, plain, c));
  results.limiter = {};
  for (const [mode, settings] of Object.entries(HOT_KEYS)) {
    const key = await a.createKey(settings);
    const conns = mode === "strict4" ? [10] : [1, 10];
    results.limiter[mode] = [];
    for (const c of conns) results.limiter[mode].push(await a.run(`hot key, ${mode}`, key, plain, c));
  }
  // Cache: prime an exact and a semantic entry, check both hit, then time them against the upstream.
  const send = async (body, expect) => {
    const res = await fetch(`${a.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${plainKey}`, "content-type": "application/json" },
      body,
    });
    await res.text();
    a.addSent(1);
    if (expect && res.headers.get("x-sluice-cache") !== expect)
      throw new Error(`cache: expected ${expect}, got ${res.headers.get("x-sluice-cache")} (${res.status})`);
  };
  const question = "What is the capital city of France?";
  await send(ask("exact", question));
  await send(ask("semantic", question));
  await new Promise((r) => setTimeout(r, 500)); // the fill runs after the answer
  await send(ask("exact", question), "HIT");
  await send(ask("semantic", "what's the capital of France"), "SEMANTIC");
  results.cache = {
    upstream: await a.run("cache, upstream round trip", plainKey, ask("uncached", question), 1),
    exactHit: await a.run("cache, exact hit", plainKey, ask("exact", question), 1),
    semanticHit: await a.run(
      "cache, semantic hit",
      plainKey,
      ask("semantic", "what's the capital of France"),
      1,
    ),
  };

  // The ledger: every call's row should land in D1; how long after the load, and what it weighs.
  const loadEnd = Date.now();
  const expected = a.sent();
  const landed = await waitForRows(a.persist, expected, loadEnd);
  log(`ledger: ${landed.rows} rows of ${expected} responses, ${landed.ms} ms after the last load run`);
  const adminSpend = {
    last30Days: await timeAdminSpend(a, ""),
    byKey: await timeAdminSpend(a, "?group_by=key"),
  };
  await a.stop();
  stops.splice(stops.indexOf(a.stop), 1);
  const gatewayDb = withDb(a.persist, (db) => ({
    bytes: ledgerBytes(db),
    rows: db.prepare("SELECT COUNT(*) AS n FROM spend").get().n,
    daily: db.prepare("SELECT COUNT(*) AS n FROM spend_daily").get().n,
    template: db.prepare("SELECT * FROM spend ORDER BY ts DESC LIMIT 1").get(),
  }));
  const fileGrowth = d1Bytes(a.persist) - bytesBefore;
  results.ledger = {
    responsesCounted: expected,
    rowsLanded: landed.rows,
    msToLandAfterLoad: landed.ms,
    dailyRows: gatewayDb.daily,
    spendTableAndIndexBytesPerRow: round(gatewayDb.bytes.byTable.spend / gatewayDb.rows, 1),
    fileBytesPerRow: round(fileGrowth / gatewayDb.rows, 1),
    bytes: gatewayDb.bytes,
    adminSpend,
  };

  // Gateway B: the key cache off (`keys.cacheTtlSeconds: 0`): every call looks its key up in D1.
  const b = await gatewayWith("cold-keys", upstream, script, { keys: { cacheTtlSeconds: 0 } });
  const coldKey = await b.createKey();
  for (const c of [1, 10]) results.keys.cold.push(await b.run("key, cache off (D1)", coldKey, plain, c));
  await b.stop();
  stops.splice(stops.indexOf(b.stop), 1);

  // The flush transaction alone: writeRows against a fresh local D1, with rows shaped like the gateway's.
  log("flush: bundling bench/flush-worker.js, migrating a fresh local D1…");
  const flushPersist = path.join(tmp, "flush");
  migrate(flushPersist, { quiet: true });
  const { compatibilityDate, compatibilityFlags, d1Databases } = wranglerWorkerOptions();
  const flusher = await serveWorker({
    script: await bundleFlushWorker(),
    persist: flushPersist,
    workerOptions: { compatibilityDate, compatibilityFlags, d1Databases },
    quiet: true,
  });
  stops.push(flusher.stop);
  const { rolled: _rolled, ...template } = gatewayDb.template;
  let seq = 0;
  results.flush = [];
  for (const f of FLUSHES) {
    const inWorker = [];
    const roundTrip = [];
    for (let i = 0; i < f.times; i++) {
      const t = performance.now();
      const res = await fetch(flusher.url, {
        method: "POST",
        body: JSON.stringify({ template, count: f.rows, seq, keys: f.keys }),
      });
      if (res.status !== 200) throw new Error(`flush worker: ${res.status} ${await res.text()}`);
      inWorker.push((await res.json()).ms);
      roundTrip.push(performance.now() - t);
      seq += f.rows;
    }
    const ms = median(inWorker);
    results.flush.push({
      rowsPerTransaction: f.rows,
      transactions: f.times,
      rollupRowsPerTransaction: f.keys,
      medianMs: round(ms, 1),
      p90Ms: round(percentile(inWorker, 90), 1),
      firstFiveMedianMs: round(median(inWorker.slice(0, 5)), 1),
      lastFiveMedianMs: round(median(inWorker.slice(-5)), 1),
      roundTripMedianMs: round(median(roundTrip), 1),
      rowsPerSecond: round((f.rows * 1000) / Math.max(ms, 0.5), 0),
    });
    log(`flush: ${f.rows} rows × ${f.times} (${f.keys} key(s)): median ${ms} ms`);
  }
  await flusher.stop();
  stops.splice(stops.indexOf(flusher.stop), 1);
  const flushDb = withDb(flushPersist, (db) => ({
    bytes: ledgerBytes(db),
    rows: db.prepare("SELECT COUNT(*) AS n FROM spend").get().n,
    daily: db.prepare("SELECT COUNT(*) AS n FROM spend_daily").get().n,
  }));
  results.size = {
    spendRows: flushDb.rows,
    spendBytesPerRow: round(flushDb.bytes.byTable.spend / flushDb.rows, 1),
    dailyRows: flushDb.daily,
    dailyBytesPerRow: round(flushDb.bytes.byTable.spend_daily / flushDb.daily, 1),
    bytes: flushDb.bytes,
  };
  // bytes per row × 10^6 rows / 10^6 bytes per MB
  results.size.mbPerMillionCalls = round(results.size.spendBytesPerRow, 0);

  results.setup = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0].model.trim(),
    cpus: os.availableParallelism(),
    loadAverage: os.loadavg().map((x) => round(x)),
    node: process.versions.node,
    workerd,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    upstreamTtfbMs: 0,
    totalSeconds: round((Date.now() - started) / 1000, 0),
  };
  await stopAll();

  const outDir = path.join(ROOT, "bench/results");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "scale.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(report(results));
  log("wrote bench/results/scale.json");
} catch (err) {
  await fail(err);
}

/** The figures as markdown tables. */
function report(r) {
  const lines = [];
  const table = (head, rows) => {
    lines.push(`| ${head.join(" | ")} |`, `| --- |${" --: |".repeat(head.length - 1)}`);
    for (const row of rows) lines.push(`| ${row.map((c) => c ?? "").join(" | ")} |`);
    lines.push("");
  };
  const diff = (x, base) =>
    x === null || base === null ? "" : `${x - base >= 0 ? "+" : ""}${round(x - base)}`;
  lines.push(
    `bench:scale, ${r.setup.date.slice(0, 10)}: ${r.setup.cpus} cores (${r.setup.cpu}), load average ` +
      `${r.setup.loadAverage.join(" / ")}; ${r.setup.seconds} s per run after ${r.setup.warmupSeconds} s of warm-up; ` +
      "loopback upstream with 0 ms TTFB. Local workerd runs the Worker, every Durable Object, D1 and KV in one " +
      "process on the same cores as the load generator and the upstream.",
    "",
    "**Key lookups** (non-streaming chat, a key without limits)",
    "",
  );
  const warm = Object.fromEntries(r.keys.warm.map((x) => [x.connections, x]));
  table(
    ["Key cache", "conns", "req/s", "p50 (ms)", "p99 (ms)", "CPU/req (ms)", "CPU added"],
    [
      ...r.keys.warm.map((x) => ["warm (30 s TTL)", x.connections, x.rps, x.p50, x.p99, x.cpuMsPerReq, ""]),
      ...r.keys.cold.map((x) => [
        "off (TTL 0: D1 per call)",
        x.connections,
        x.rps,
        x.p50,
        x.p99,
        x.cpuMsPerReq,
        diff(x.cpuMsPerReq, warm[x.connections].cpuMsPerReq),
      ]),
    ],
  );
  lines.push(
    "**One hot key, one Limiter object** (all load on one key; added = minus the warm key without limits)",
    "",
  );
  table(
    ["Key", "conns", "req/s", "p50 (ms)", "p99 (ms)", "added p50", "added p99", "CPU/req (ms)"],
    Object.entries(r.limiter).flatMap(([mode, runs]) =>
      runs.map((x) => [
        mode === "strict4" ? "strict, shards: 4" : mode,
        x.connections,
        x.rps,
        x.p50,
        x.p99,
        diff(x.p50, warm[x.connections].p50),
        diff(x.p99, warm[x.connections].p99),
        x.cpuMsPerReq,
      ]),
    ),
  );
  lines.push("**Cache tiers** (1 connection)", "");
  table(
    ["Call", "req/s", "p50 (ms)", "p99 (ms)", "CPU/req (ms)"],
    [
      ["upstream round trip (cache off)", r.cache.upstream],
      ["exact hit", r.cache.exactHit],
      ["semantic hit", r.cache.semanticHit],
    ].map(([name, x]) => [name, x.rps, x.p50, x.p99, x.cpuMsPerReq]),
  );
  lines.push("**Spend ledger** (SpendBuffer shards → D1)", "");
  const l = r.ledger;
  table(
    ["Measure", "value"],
    [
      ["responses counted by the load runs / rows landed in D1", `${l.responsesCounted} / ${l.rowsLanded}`],
      ["last row landed after the load ended (ms)", l.msToLandAfterLoad],
      ["daily rollup rows for those calls", l.dailyRows],
      ["D1 bytes per spend row (table + indexes, gateway rows)", l.spendTableAndIndexBytesPerRow],
      ["D1 file growth per spend row (gateway)", l.fileBytesPerRow],
      [
        "GET /admin/spend (30 days) median / p90 (ms)",
        `${l.adminSpend.last30Days.medianMs} / ${l.adminSpend.last30Days.p90Ms}`,
      ],
      [
        "GET /admin/spend?group_by=key median / p90 (ms)",
        `${l.adminSpend.byKey.medianMs} / ${l.adminSpend.byKey.p90Ms}`,
      ],
    ],
  );
  lines.push("**One flush transaction** (`writeRows` on local D1; rows shaped like the gateway's)", "");
  table(
    ["Rows", "rollup rows", "transactions", "median (ms)", "p90 (ms)", "first 5 / last 5 (ms)", "rows/s"],
    r.flush.map((f) => [
      f.rowsPerTransaction,
      f.rollupRowsPerTransaction,
      f.transactions,
      f.medianMs,
      f.p90Ms,
      `${f.firstFiveMedianMs} / ${f.lastFiveMedianMs}`,
      f.rowsPerSecond,
    ]),
  );
  const s = r.size;
  table(
    ["Size", "value"],
    [
      [`bytes per spend row (table + its 5 indexes, ${s.spendRows} rows)`, s.spendBytesPerRow],
      ["MB per million calls (raw rows)", s.mbPerMillionCalls],
      [`bytes per daily rollup row (key × model × day; ${s.dailyRows} rows)`, s.dailyBytesPerRow],
    ],
  );
  return lines.join("\n");
}
