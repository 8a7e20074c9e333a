// `node bench/profile.mjs`: where Sluice's CPU goes on the hot path. Serves the production bundle on workerd
// (as `npm run serve` does) with its inspector on, loads it at one connection with the bench's plain chat
// request (a key without limits, the ledger on), samples the isolate with the V8 profiler over the inspector,
// and prints the functions with the most self time and the share of time under each named function of
// interest. Writes the profile to bench/results/latest.cpuprofile (open it in Chrome DevTools).
// Flags: --seconds N (default 8), --interval-us N (sampling interval, default 50), --top N (default 30), --stream
// (the bench's streaming request instead of the plain one).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { build, ROOT } from "../scripts/serve-lib.mjs";
import { chatBody, singleUpstream, startBenchGateway } from "./gateway.mjs";
import { load } from "./load.mjs";
import { startUpstream } from "./upstream.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    "interval-us": { type: "string", default: "50" },
    top: { type: "string", default: "30" },
    stream: { type: "boolean", default: false },
  },
});
const SECONDS = Number(values.seconds);
const TOP = Number(values.top);
const tmp = mkdtempSync(path.join(os.tmpdir(), "sluice-profile-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
const deadline = setTimeout(
  () => {
    console.error("profile: exceeded its time limit");
    process.exit(1);
  },
  (SECONDS + 120) * 1000,
);
deadline.unref();

/** A free loopback port. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** A minimal CDP client over the inspector's WebSocket (Node 22's global WebSocket). */
async function inspector(port) {
  let targets = [];
  for (let i = 0; i < 50 && targets.length === 0; i++) {
    targets = await fetch(`http://127.0.0.1:${port}/json/list`)
      .then((r) => r.json())
      .catch(() => []);
    if (targets.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  const target = targets.find((t) => !String(t.title).includes("loopback")) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data));
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  };
  return {
    title: target.title,
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        waiting.set(n, { resolve, reject });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Self and total time per function (name + position) from a V8 CPU profile. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = new Map();
  profile.samples.forEach((s, i) => {
    dt.set(s, (dt.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const label = (n) => {
    const f = n.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : "";
    return `${f.functionName || "(anonymous)"} ${where}`.trim();
  };
  const self = new Map();
  const inclusive = new Map();
  for (const [nodeId, t] of dt) {
    const n = byId.get(nodeId);
    self.set(label(n), (self.get(label(n)) ?? 0) + t);
    // Each function on the stack once (recursion counted once).
    const seen = new Set();
    for (let cur = nodeId; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + t);
    }
  }
  return { total, self, inclusive };
}

try {
  const script = build(path.join(tmp, "dist"), { quiet: true });
  const upstream = await startUpstream({ ttfbMs: 0, chunkGapMs: 0 });
  const inspectorPort = await freePort();
  const gateway = await startBenchGateway({
    script,
    persist: path.join(tmp, "state"),
    config: singleUpstream(upstream.url),
    inspectorPort,
  });
  try {
    const key = await gateway.createKey({ name: "profile" });
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const body = chatBody({ stream: values.stream });
    const run = {
      url: `${gateway.url}/v1/chat/completions`,
      pid: gateway.pid,
      headers,
      body,
      connections: 1,
    };
    await load({ ...run, seconds: 2 });
    const cdp = await inspector(inspectorPort);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: Number(values["interval-us"]) });
    await cdp.send("Profiler.start");
    const result = await load({ ...run, seconds: SECONDS });
    const { profile } = await cdp.send("Profiler.stop");
    cdp.close();
    mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(path.join(ROOT, "bench/results/latest.cpuprofile"), JSON.stringify(profile));
    const { total, self, inclusive } = summarize(profile);
    const requests = result.requests;
    const perReq = (us) => `${(us / 1000 / requests).toFixed(4)} ms`;
    console.log(
      `${requests} requests in ${SECONDS} s; ${result.cpuMsPerReq.toFixed(3)} ms workerd CPU per request; ` +
        `profiled isolate time ${perReq(total)} per request (idle included)`,
    );
    const table = (title, m) => {
      console.log(`\n${title}`);
      for (const [name, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP))
        console.log(`${perReq(t).padStart(11)}  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${name}`);
    };
    table("self time per request", self);
    table("total (inclusive) time per request", inclusive);
  } finally {
    await gateway.stop();
    await upstream.stop();
  }
} catch (e) {
  console.error(e);
  process.exitCode = 1;
}
