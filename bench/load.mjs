// Load runs with autocannon, with exact latency percentiles and the server process's CPU time per request.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { percentile } from "./stats.mjs";

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;

/** CPU time (user + system, ms) the process `pid` has used so far, from /proc/<pid>/stat. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * POSTs `body` (or `bodyFor(n)`) to `url` over `connections` keep-alive connections for `seconds`. Latency percentiles come from
 * every response's own timing (autocannon's histogram rounds to whole ms); `cpuMsPerReq` is the CPU time `pid`
 * used during the run divided by the responses. Throws if any request failed or was not a 2xx.
 */
export async function load({
  url,
  headers,
  body,
  bodyFor,
  connections,
  seconds,
  pid,
  keepLatencies = false,
}) {
  const latencies = [];
  const cpuBefore = cpuMs(pid);
  // `bodyFor(n)` gives every request its own body (n counts from 0), for runs that must never repeat one.
  let n = 0;
  const requests = bodyFor ? [{ setupRequest: (req) => ({ ...req, body: bodyFor(n++) }) }] : undefined;
  const instance = autocannon({
    url,
    method: "POST",
    headers,
    body,
    connections,
    duration: seconds,
    requests,
  });
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  const r = await instance;
  const cpu = cpuMs(pid) - cpuBefore;
  if (r.errors || r.timeouts || r.non2xx) {
    throw new Error(`${url}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx responses`);
  }
  const result = {
    requests: latencies.length,
    rps: latencies.length / r.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMsPerReq: cpu / latencies.length,
  };
  // For pooling several runs (`pooled`); not part of a result that gets written out.
  if (keepLatencies)
    Object.defineProperty(result, "parts", { value: { latencies, cpu, duration: r.duration } });
  return result;
}

/** Several runs of one target as one result: every response's latency pooled, CPU and time summed. */
export function pooled(runs) {
  const latencies = runs.flatMap((x) => x.parts.latencies);
  const seconds = runs.reduce((sum, x) => sum + x.parts.duration, 0);
  const cpu = runs.reduce((sum, x) => sum + x.parts.cpu, 0);
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMsPerReq: cpu / latencies.length,
  };
}
