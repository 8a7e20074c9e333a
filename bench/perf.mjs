// `node bench/perf.mjs`: where workerd's CPU goes on the hot path, native code included. The V8 profile of
// bench/profile.mjs sees JavaScript only; on workerd most of a request's CPU is native (Request, Response and
// Headers objects, body reads, timers, signals, garbage collection, SQLite). This samples the whole workerd
// process with Linux `perf` while the bench's plain chat request loads it (a key without limits, the ledger
// on), then prints the CPU per request by kind of code and the runtime APIs that cost the most, inclusive.
// Needs `perf` (Debian: linux-perf) and permission to profile a child process.
// Flags: --seconds N (default 8), --connections N (default 10), --stream, --top N (default 25), --floor (the bare
// pass-through Worker instead of Sluice, for the same breakdown of the floor), --symbols N (also the N functions
// with the most self time, native ones included; default 0).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { build } from "../scripts/serve-lib.mjs";
import { chatBody, singleUpstream, startBenchGateway, startPlainWorker } from "./gateway.mjs";
import { load } from "./load.mjs";
import { startUpstream } from "./upstream.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    connections: { type: "string", default: "10" },
    stream: { type: "boolean", default: false },
    top: { type: "string", default: "25" },
    floor: { type: "boolean", default: false },
    symbols: { type: "string", default: "0" },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const TOP = Number(values.top);
try {
  execFileSync("perf", ["--version"], { stdio: "ignore" });
} catch {
  console.error("perf: the `perf` command is not installed (Debian: apt-get install linux-perf).");
  process.exit(2);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), "sluice-perf-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
setTimeout(
  () => {
    console.error("perf: exceeded its time limit");
    process.exit(1);
  },
  (SECONDS + 180) * 1000,
).unref();

/** Kinds of code, by the sampled function's symbol (first match wins). */
const KINDS = [
  ["JavaScript (JIT)", (dso) => dso.startsWith("[JIT]")],
  ["V8 builtins", (_d, sym) => sym.startsWith("Builtins_")],
  ["garbage collection", (_d, sym) => /Scaveng|MarkCompact|Marking|Sweeper|Heap::|Evacuat|cppgc::/.test(sym)],
  ["SQLite (ledger, D1)", (_d, sym) => /^sqlite3|^json[A-Z]|^vdbe|^btree|^pager/i.test(sym)],
  ["malloc", (_d, sym) => /tcmalloc|TCMalloc|^__mem|malloc|free/.test(sym)],
  ["kernel", (dso) => dso.includes("kernel")],
  ["V8 runtime", (_d, sym) => sym.startsWith("v8::")],
  ["workerd, kj, capnp", () => true],
];

/** `perf report` rows: percent, samples, and the rest of the line. */
function report(data, args) {
  const out = execFileSync("perf", ["report", "-i", data, "--stdio", "-g", "none", ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "ignore"],
  });
  return out.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

try {
  const upstream = await startUpstream({ ttfbMs: 0, chunkGapMs: values.stream ? 2 : 0 });
  const gateway = values.floor ? await startFloor(upstream) : await startSluice(upstream);
  try {
    const run = {
      url: `${gateway.url}/v1/chat/completions`,
      pid: gateway.pid,
      headers: gateway.headers,
      body: chatBody({ stream: values.stream }),
      connections: CONNECTIONS,
    };
    await load({ ...run, seconds: 2 });
    const data = path.join(tmp, "perf.data");
    const HZ = 999;
    const perf = spawn("perf", ["record", "-F", String(HZ), "-g", "-p", String(gateway.pid), "-o", data], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 300)); // perf attaches
    const result = await load({ ...run, seconds: SECONDS });
    perf.kill("SIGINT");
    await new Promise((r) => perf.once("exit", r));
    const perRequest = (samples) => `${((samples * 1e6) / HZ / result.requests).toFixed(1)} µs`;

    const kinds = new Map(KINDS.map(([k]) => [k, 0]));
    let total = 0;
    for (const line of report(data, ["-n", "--no-children", "--sort", "dso,sym"])) {
      const m = /^\s*[\d.]+%\s+(\d+)\s+(\S+(?: tid \d+)?)\s+\[.\]\s+(.*)$/.exec(line);
      if (!m) continue;
      const [, n, dso, sym] = m;
      const kind = KINDS.find(([, test]) => test(dso, sym.trim()))?.[0];
      kinds.set(kind, kinds.get(kind) + Number(n));
      total += Number(n);
    }
    console.log(
      `${result.requests} requests at ${CONNECTIONS} connection(s) in ${SECONDS} s; ` +
        `${result.cpuMsPerReq.toFixed(3)} ms workerd CPU per request (/proc); ${perRequest(total)} sampled\n`,
    );
    console.log("CPU per request by kind of code (self time)");
    for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1]))
      console.log(`${perRequest(n).padStart(10)}  ${kind}`);

    if (Number(values.symbols) > 0) {
      console.log("\nFunctions with the most self time (native included)");
      const rows = report(data, ["-n", "--no-children", "--sort", "sym"]).slice(0, Number(values.symbols));
      for (const line of rows) {
        const m = /^\s*[\d.]+%\s+(\d+)\s+\[.\]\s+(.*)$/.exec(line);
        if (m) console.log(`${perRequest(Number(m[1])).padStart(10)}  ${m[2].slice(0, 160)}`);
      }
    }

    console.log("\nRuntime APIs (inclusive: the API and everything it calls, GC it triggers included)");
    const apis = [];
    for (const line of report(data, ["--children", "--sort", "sym"])) {
      const m = /^\s*([\d.]+)%\s+[\d.]+%\s+\[.\]\s+(workerd::api::[\w:]+)$/.exec(line);
      if (m) apis.push([Number(m[1]), m[2]]);
    }
    for (const [pct, name] of apis.slice(0, TOP))
      console.log(`${perRequest((pct / 100) * total).padStart(10)}  ${name}`);
  } finally {
    await gateway.stop();
    await upstream.stop();
  }
} catch (e) {
  console.error(e);
  process.exitCode = 1;
}

/** Sluice, built from this tree and served as the bench serves it, with a key without limits. */
async function startSluice(upstream) {
  const script = build(path.join(tmp, "dist"), { quiet: true });
  const g = await startBenchGateway({
    script,
    persist: path.join(tmp, "state"),
    config: singleUpstream(upstream.url),
  });
  const key = await g.createKey({ name: "perf" });
  return { ...g, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } };
}

/** The bench's floor: the bare pass-through Worker. */
async function startFloor(upstream) {
  const w = await startPlainWorker(`${upstream.url}/chat/completions`);
  return { ...w, headers: { "content-type": "application/json" } };
}
