// `node bench/pair.mjs [--ref REV]... [DIR | SCRIPT.js]...`: Sluice builds compared side by side with the floor,
// for changes smaller than the spread between two `npm run bench` runs. Each build is served the `npm run serve`
// way (a fresh local D1, a key without limits, the ledger on) beside the bare pass-through Worker, all loaded
// with the bench's plain chat request in turns: every round runs each target for a short window, in an order
// reversed every other round, so that a slow spell of the host lands on all of them. Prints per target the
// median over rounds of its CPU per request and p50, and of their difference from the floor in the same round,
// and its throughput as a share of the floor's; with several builds, each one's CPU against the first's, round
// by round (median and middle half). Two identical builds differ by about ±0.04 ms of CPU here, more on a
// noisy day: read a difference only where its middle half is clear of zero.
// A target is a git revision (`--ref HEAD~1`: built from a temporary worktree), a directory holding a built
// bundle (index.js, as scripts/serve-lib.mjs's `build` writes it; served with the wrangler.toml beside it if there
// is one, as --ref builds keep their tree's, else this checkout's), or a plain Worker script (*.js: served like
// the floor, with only an UPSTREAM_URL binding, for a skeleton of some cost). With no target: the working tree.
// `--ref 3754eef --ref HEAD` compares a commit before a change with the one after.
// Flags: --connections N (default 10), --seconds N (per window, default 2), --rounds N (default 8), --stream,
// --metering (the metering Worker, bench/metering.js, as a target after the floor: what a gateway that meters
// at all costs, in the same rounds).
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { build, ROOT } from "../scripts/serve-lib.mjs";
import {
  chatBody,
  singleUpstream,
  startBenchGateway,
  startMeteringWorker,
  startPlainWorker,
} from "./gateway.mjs";
import { load } from "./load.mjs";
import { startUpstream } from "./upstream.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ref: { type: "string", multiple: true, default: [] },
    connections: { type: "string", default: "10" },
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "8" },
    stream: { type: "boolean", default: false },
    metering: { type: "boolean", default: false },
  },
});
if (values.metering && values.stream) {
  console.error("pair: the metering Worker reads answers whole; --metering and --stream do not go together");
  process.exit(2);
}
const CONNECTIONS = Number(values.connections);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const tmp = mkdtempSync(path.join(os.tmpdir(), "sluice-pair-"));
const worktrees = [];
const cleanup = () => {
  for (const w of worktrees) {
    try {
      execFileSync("git", ["worktree", "remove", "--force", w], { cwd: ROOT, stdio: "ignore" });
    } catch {}
  }
  rmSync(tmp, { recursive: true, force: true });
};
process.on("exit", cleanup);
const targetsGiven = values.ref.length + positionals.length;
const deadline = setTimeout(
  () => {
    console.error("pair: exceeded its time limit");
    process.exit(1);
  },
  (ROUNDS * (Math.max(targetsGiven, 1) + 1) * (SECONDS + 1) + 300) * 1000,
);
deadline.unref();

/** A bundle of git revision `ref`, built from a worktree that shares this checkout's node_modules. */
async function buildRef(ref, i) {
  const tree = path.join(tmp, `tree${i}`);
  execFileSync("git", ["worktree", "add", "--detach", tree, ref], { cwd: ROOT, stdio: "ignore" });
  worktrees.push(tree);
  symlinkSync(path.join(ROOT, "node_modules"), path.join(tree, "node_modules"));
  const { build: buildTree } = await import(path.join(tree, "scripts/serve-lib.mjs"));
  return withToml(path.dirname(await buildTree(path.join(tmp, `ref${i}`), { quiet: true })), tree);
}

/** Keeps the wrangler.toml of the tree a bundle was built from beside it: its compatibility flags serve it. */
function withToml(dir, tree) {
  copyFileSync(path.join(tree, "wrangler.toml"), path.join(dir, "wrangler.toml"));
  return dir;
}

const builds = [];
for (const [i, ref] of values.ref.entries()) builds.push({ name: ref, dir: await buildRef(ref, i) });
for (const p of positionals) builds.push({ name: path.basename(p), dir: path.resolve(p) });
if (builds.length === 0) {
  builds.push({
    name: "tree",
    dir: withToml(path.dirname(await build(path.join(tmp, "tree"), { quiet: true })), ROOT),
  });
}

const upstream = await startUpstream({ ttfbMs: 0, chunkGapMs: values.stream ? 2 : 0 });
const plainWorker = (script) => startPlainWorker(`${upstream.url}/chat/completions`, { script });
const stops = [];
const targets = [];
try {
  const floor = await plainWorker(path.join(ROOT, "bench/passthrough.js"));
  stops.push(floor.stop);
  const json = { "content-type": "application/json" };
  targets.push({ name: "floor", url: `${floor.url}/v1/chat/completions`, pid: floor.pid, headers: json });
  if (values.metering) {
    const m = await startMeteringWorker(`${upstream.url}/chat/completions`, path.join(tmp, "metering"));
    stops.push(m.stop);
    const headers = { ...json, authorization: "Bearer sk-bench-metering" };
    targets.push({ name: "metering", url: `${m.url}/v1/chat/completions`, pid: m.pid, headers });
  }
  for (const [i, b] of builds.entries()) {
    if (b.dir.endsWith(".js")) {
      const w = await plainWorker(b.dir);
      stops.push(w.stop);
      targets.push({ name: b.name, url: `${w.url}/v1/chat/completions`, pid: w.pid, headers: json });
      continue;
    }
    const g = await startBenchGateway({
      script: path.join(b.dir, "index.js"),
      persist: path.join(tmp, `state${i}`),
      config: singleUpstream(upstream.url),
      // A directory built elsewhere may hold its tree's wrangler.toml (withToml); else this checkout's.
      toml: existsSync(path.join(b.dir, "wrangler.toml")) ? path.join(b.dir, "wrangler.toml") : undefined,
    });
    stops.push(g.stop);
    const key = await g.createKey({ name: "pair" });
    targets.push({
      name: b.name,
      url: `${g.url}/v1/chat/completions`,
      pid: g.pid,
      headers: { ...json, authorization: `Bearer ${key}` },
    });
  }
  const body = chatBody({ stream: values.stream });
  for (const t of targets) await load({ ...t, body, connections: CONNECTIONS, seconds: 1 });
  const runs = new Map(targets.map((t) => [t.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...targets].reverse() : targets;
    for (const t of order) {
      await load({ ...t, body, connections: CONNECTIONS, seconds: 0.3 });
      runs.get(t.name).push(await load({ ...t, body, connections: CONNECTIONS, seconds: SECONDS }));
    }
  }
  const quantile = (xs, q) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
  const median = (xs) => quantile(xs, 0.5);
  const floorRuns = runs.get("floor");
  const fmt = (x) => x.toFixed(3);
  console.log(
    `${CONNECTIONS} connection(s), ${ROUNDS} rounds of ${SECONDS} s${values.stream ? ", streaming" : ""}`,
  );
  console.log("target            cpu ms  − floor    p50 ms  − floor   throughput");
  for (const t of targets) {
    const a = runs.get(t.name);
    const cpu = median(a.map((x) => x.cpuMsPerReq));
    const dCpu = median(a.map((x, i) => x.cpuMsPerReq - floorRuns[i].cpuMsPerReq));
    const p50 = median(a.map((x) => x.p50));
    const dP50 = median(a.map((x, i) => x.p50 - floorRuns[i].p50));
    const share = median(a.map((x, i) => x.rps / floorRuns[i].rps));
    console.log(
      `${t.name.slice(0, 16).padEnd(16)} ${fmt(cpu).padStart(7)} ${fmt(dCpu).padStart(8)} ${fmt(p50).padStart(9)} ${fmt(dP50).padStart(8)}   ${(100 * share).toFixed(0)} %`,
    );
  }
  // Each build against the first, round by round: the paired difference, and the spread of it over rounds (its
  // middle half). A difference whose middle half straddles zero is not one these rounds can tell.
  const [first, ...others] = targets.filter((t) => t.name !== "floor" && t.name !== "metering");
  if (first && others.length > 0) {
    console.log(`\nCPU ms per request against ${first.name}, per round: median [middle half]`);
    const base = runs.get(first.name);
    for (const t of others) {
      const d = runs.get(t.name).map((x, i) => x.cpuMsPerReq - base[i].cpuMsPerReq);
      const [q1, q2, q3] = [0.25, 0.5, 0.75].map((q) => quantile(d, q));
      console.log(`${t.name.slice(0, 16).padEnd(16)} ${fmt(q2).padStart(7)}  [${fmt(q1)}, ${fmt(q3)}]`);
    }
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await upstream.stop();
}
process.exit(0);
