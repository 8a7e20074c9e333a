// `npm run bench`: Sluice against a bare pass-through Worker and a minimal metering Worker (bench/metering.js),
// all served like `npm run serve`, in front of a local OpenAI-format upstream. Prints a markdown table and
// writes bench/results/latest.json.
// Flags: --seconds N (per run, default 6), --upstream-ttfb-ms N (default 0), --ttfb-samples N (default 50),
// --limits-ttfb-ms N (the upstream's time to first byte in the limits runs, default 200).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { build, ROOT } from "../scripts/serve-lib.mjs";
import {
  agentBody,
  chatBody,
  singleUpstream,
  startBenchGateway,
  startMeteringWorker,
  startPlainWorker,
} from "./gateway.mjs";
import { load, pooled } from "./load.mjs";
import { markdown } from "./report.mjs";
import { medianTtfb } from "./ttfb.mjs";
import { STREAM_EVENTS, startUpstream } from "./upstream.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "6" },
    "upstream-ttfb-ms": { type: "string", default: "0" },
    "ttfb-samples": { type: "string", default: "50" },
    "limits-ttfb-ms": { type: "string", default: "200" },
  },
});
const SECONDS = Number(values.seconds);
const UPSTREAM_TTFB_MS = Number(values["upstream-ttfb-ms"]);
const TTFB_SAMPLES = Number(values["ttfb-samples"]);
const LIMITS_TTFB_MS = Number(values["limits-ttfb-ms"]);
/** Keys of the limits runs: no limits, strict (a budget: reserve, then call) and overlap (check beside the call). */
const LIMIT_KEYS = {
  none: {},
  strict: { rpm: 10_000_000, budget: { usd: 1_000_000, period: "day" }, limitMode: "strict" },
  overlap: { rpm: 10_000_000, limitMode: "overlap" },
};
const WARMUP_SECONDS = 1;
/** The load runs in turns (see below), and the warm-up of each turn after the first. */
const ROUNDS = 3;
const REWARM_SECONDS = 0.5;
const CHUNK_GAP_MS = 2; // between the upstream's stream chunks, so a buffering proxy would show in TTFB
const CONNECTIONS = [1, 10];
if (!(SECONDS > 0 && TTFB_SAMPLES > 0 && UPSTREAM_TTFB_MS >= 0)) {
  console.error("--seconds and --ttfb-samples must be positive, --upstream-ttfb-ms at least 0.");
  process.exit(2);
}
// Startup and streaming requests get 90 s on top of the load runs; past that, something is stuck.
const CACHE_RUNS = 5;
/** Load runs of the floor and Sluice alone, in turns: the streamed request and the agent-sized one. */
const PAIRED_RUNS = 2;
const DEADLINE_MS =
  (90 +
    (CONNECTIONS.length * (3 + Object.keys(LIMIT_KEYS).length) + CACHE_RUNS) * (SECONDS + WARMUP_SECONDS) +
    CONNECTIONS.length * 3 * (ROUNDS - 1) * REWARM_SECONDS +
    PAIRED_RUNS * 2 * (SECONDS + WARMUP_SECONDS + (ROUNDS - 1) * REWARM_SECONDS)) *
    1000 +
  2 * TTFB_SAMPLES * UPSTREAM_TTFB_MS;

const tmp = mkdtempSync(path.join(os.tmpdir(), "sluice-bench-"));
// However the bench ends, the temp dir goes. On SIGINT/SIGTERM, exiting also runs Miniflare's exit hook, which
// kills the workerd processes; the upstream process exits when its IPC channel to this one closes.
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => process.exit(128 + os.constants.signals[signal]));

const stops = [];
/** Stops everything started so far, newest first. */
async function stopAll() {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
}
let failing;
/** Reports the first failure, stops everything and exits; later calls wait for the first. */
function fail(err) {
  failing ??= (async () => {
    console.error(err instanceof Error ? err.message : err);
    await stopAll();
    process.exit(1);
  })();
  return failing;
}
setTimeout(() => fail(`Bench exceeded ${DEADLINE_MS / 1000} s.`), DEADLINE_MS).unref();

const log = (msg) => console.error(`[bench] ${msg}`);

/**
 * Load runs of `targets` in turns: ROUNDS runs of SECONDS / ROUNDS each (after a warm-up), the order reversed
 * every other round, pooled per target. A slow spell of the host then lands on all of them rather than on
 * whichever ran in it. Resolves to each target's pooled result.
 */
async function inTurns(targets, { headers, body, connections }) {
  const runs = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = Object.entries(targets);
    if (round % 2 === 1) order.reverse();
    for (const [name, t] of order) {
      const warmup = round === 0 ? WARMUP_SECONDS : REWARM_SECONDS;
      log(
        `${name}: ${connections} connection(s), round ${round + 1}/${ROUNDS}, ${warmup} s warm-up + ${SECONDS / ROUNDS} s…`,
      );
      const run = { url: t.url, pid: t.pid, headers, body, connections };
      await load({ ...run, seconds: warmup });
      runs[name].push(await load({ ...run, seconds: SECONDS / ROUNDS, keepLatencies: true }));
    }
  }
  return Object.fromEntries(Object.entries(runs).map(([name, r]) => [name, pooled(r)]));
}

/**
 * The response cache at 1 connection, through aliases over the fast upstream: an upstream round trip with the
 * cache off, an exact hit, a semantic hit (a paraphrase of a stored question), and a miss with the cache on
 * and off (every request a new question, so the cache on pays its lookup and its fill).
 */
async function cacheRuns(gateway, headers) {
  const ask = (model, content) => JSON.stringify({ model, messages: [{ role: "user", content }] });
  const send = async (body, expect) => {
    const res = await fetch(gateway.url, { method: "POST", headers, body });
    await res.text();
    const got = res.headers.get("x-sluice-cache");
    if (expect && got !== expect)
      throw new Error(`cache bench: expected ${expect}, got ${got} (${res.status})`);
  };
  await send(ask("exact", "What is the capital city of France?"));
  await send(ask("semantic", "What is the capital city of France?"));
  await new Promise((r) => setTimeout(r, 500)); // the fill runs after the answer
  await send(ask("exact", "What is the capital city of France?"), "HIT");
  await send(ask("semantic", "what's the capital of France"), "SEMANTIC");
  const runs = {
    upstream: { body: ask("uncached", "What is the capital city of France?") },
    exactHit: { body: ask("exact", "What is the capital city of France?") },
    semanticHit: { body: ask("semantic", "what's the capital of France") },
    missCacheOff: { bodyFor: (n) => ask("uncached", `Question number ${n} of run ${process.pid}?`) },
    missCacheOn: { bodyFor: (n) => ask("exact", `Question number ${n} of run ${process.pid}?`) },
  };
  const out = {};
  for (const [name, r] of Object.entries(runs)) {
    log(`cache, ${name}: 1 connection…`);
    const run = { url: gateway.url, pid: gateway.pid, headers, connections: 1, ...r };
    await load({ ...run, seconds: WARMUP_SECONDS });
    out[name] = await load({ ...run, seconds: SECONDS });
  }
  return out;
}

try {
  log("building the Worker (wrangler deploy --dry-run)…");
  const script = build(path.join(tmp, "dist"), { quiet: true });
  const raw = readFileSync(script);
  const bundle = { rawBytes: raw.length, gzipBytes: gzipSync(raw).length };

  const upstream = await startUpstream({ ttfbMs: UPSTREAM_TTFB_MS, chunkGapMs: CHUNK_GAP_MS });
  stops.push(upstream.stop);
  const slowUpstream = await startUpstream({ ttfbMs: LIMITS_TTFB_MS, chunkGapMs: CHUNK_GAP_MS });
  stops.push(slowUpstream.stop);

  const floor = await startPlainWorker(`${upstream.url}/chat/completions`);
  stops.push(floor.stop);
  // The floor for the agent-sized Anthropic request: the same bare Worker, forwarding to /v1/messages.
  const floorMessages = await startPlainWorker(`${upstream.url}/messages`);
  stops.push(floorMessages.stop);
  const metering = await startMeteringWorker(`${upstream.url}/chat/completions`, path.join(tmp, "metering"));
  stops.push(metering.stop);

  log("starting the gateway (migrations on a fresh local D1)…");
  const upstreamConfig = singleUpstream(upstream.url);
  const config = {
    ...upstreamConfig,
    providers: {
      ...upstreamConfig.providers,
      slow: { type: "openai-compatible", baseUrl: slowUpstream.url, apiKey: "bench" },
    },
    models: {
      uncached: { targets: [{ provider: "up", model: "bench-model" }] },
      exact: { targets: [{ provider: "up", model: "bench-model" }], cache: { mode: "exact" } },
      semantic: { targets: [{ provider: "up", model: "bench-model" }], cache: { mode: "semantic" } },
    },
    // The offline vector index shows writes at once here (Vectorize takes seconds): the bench measures hits.
    cache: { localIndexVisibilityMs: 0 },
  };
  const gateway = await startBenchGateway({ script, persist: path.join(tmp, "state"), config });
  stops.push(gateway.stop);

  const { createKey } = gateway;
  const key = await createKey();

  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const messages = [{ role: "user", content: "Say hello." }];
  const plain = chatBody();
  const streaming = chatBody({ stream: true });
  const targets = {
    floor: { url: floor.url, pid: floor.pid },
    metering: { url: metering.url, pid: metering.pid },
    gateway: { url: `${gateway.url}/v1/chat/completions`, pid: gateway.pid },
  };

  const results = { load: [], streamTtfb: {}, bundle };
  for (const connections of CONNECTIONS) {
    results.load.push({ connections, ...(await inTurns(targets, { headers, body: plain, connections })) });
  }
  for (const [name, t] of Object.entries(targets)) {
    if (name === "metering") continue; // it reads the answer whole: no stream to time
    log(`${name}: streaming TTFB over ${TTFB_SAMPLES} requests…`);
    results.streamTtfb[name] = await medianTtfb(t.url, { headers, body: streaming, samples: TTFB_SAMPLES });
  }

  // The streaming request under load at 1 connection, the floor and Sluice in turns: what relaying a stream
  // costs per request (every event of it passes through the Worker; the floor's are piped by workerd).
  results.streamLoad = {
    connections: 1,
    events: STREAM_EVENTS,
    ...(await inTurns(
      { floor: targets.floor, gateway: targets.gateway },
      { headers, body: streaming, connections: 1 },
    )),
  };

  // A coding agent's request (~200 KB of Anthropic Messages JSON) at 1 connection, the floor and Sluice in turns:
  // Sluice reads it and checks what it reads itself, then passes the client's bytes on with the model swapped.
  const agent = agentBody();
  results.agentLoad = {
    connections: 1,
    bytes: Buffer.byteLength(agent),
    ...(await inTurns(
      {
        floor: { url: floorMessages.url, pid: floorMessages.pid },
        gateway: { url: `${gateway.url}/v1/messages`, pid: gateway.pid },
      },
      { headers: { ...headers, "anthropic-version": "2023-06-01" }, body: agent, connections: 1 },
    )),
  };

  // Limits: the same gateway and a slower upstream, through keys without limits, strict and overlap.
  const limitsBody = JSON.stringify({ model: "slow/bench-model", messages, max_tokens: 50 });
  results.limits = [];
  for (const connections of CONNECTIONS) {
    const entry = { connections };
    for (const [mode, settings] of Object.entries(LIMIT_KEYS)) {
      const k = await createKey(settings);
      log(`limits, ${mode}: ${connections} connection(s), upstream TTFB ${LIMITS_TTFB_MS} ms…`);
      const run = {
        url: targets.gateway.url,
        pid: gateway.pid,
        headers: { ...headers, authorization: `Bearer ${k}` },
        body: limitsBody,
        connections,
      };
      await load({ ...run, seconds: WARMUP_SECONDS });
      entry[mode] = await load({ ...run, seconds: SECONDS });
    }
    results.limits.push(entry);
  }

  results.cache = await cacheRuns(targets.gateway, headers);

  results.setup = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0].model.trim(),
    cpus: os.availableParallelism(),
    node: process.versions.node,
    workerd: execFileSync(`/proc/${gateway.pid}/exe`, ["--version"], { encoding: "utf8" })
      .replace("workerd", "")
      .trim(),
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    rounds: ROUNDS,
    upstreamTtfbMs: UPSTREAM_TTFB_MS,
    limitsUpstreamTtfbMs: LIMITS_TTFB_MS,
    upstreamChunkGapMs: CHUNK_GAP_MS,
    ttfbSamples: TTFB_SAMPLES,
  };
  await stopAll();

  const outDir = path.join(ROOT, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(markdown(results));
  log("wrote bench/results/latest.json");
} catch (err) {
  await fail(err);
}
