import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { load, pooled } from "../../bench/load.mjs";

// The bench pools its turns per target: every response's latency and all the CPU, not an average of averages.

let server: Server;
let url = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("{}"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe("The bench's pooled load runs", () => {
  it("pool every response of several runs: requests summed, CPU per request over all of them", async () => {
    const run = { url, headers: {}, body: "{}", connections: 1, seconds: 0.3, pid: process.pid };
    const a = await load({ ...run, keepLatencies: true });
    const b = await load({ ...run, keepLatencies: true });
    const both = pooled([a, b]);
    expect(both.requests).toBe(a.requests + b.requests);
    expect(a.requests).toBeGreaterThan(0);
    // The kept parts stay out of the result written to latest.json.
    expect(Object.keys(a)).toEqual(["requests", "rps", "p50", "p99", "cpuMsPerReq"]);
    expect(JSON.stringify(a)).not.toContain("latencies");
    const cpu = a.cpuMsPerReq * a.requests + b.cpuMsPerReq * b.requests;
    expect(both.cpuMsPerReq).toBeCloseTo(cpu / both.requests, 9);
    const lows = [a.p50, b.p50].sort((x, y) => x - y);
    expect(both.p50).toBeGreaterThanOrEqual((lows[0] as number) - 1e-9);
    expect(both.p50).toBeLessThanOrEqual((lows[1] as number) + 1e-9);
  });
});
