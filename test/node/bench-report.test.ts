import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { markdown } from "../../bench/report.mjs";

// The bench's markdown table: the streamed request's CPU row and the agent-sized passthrough rows, Sluice
// against the floor.

const run = (cpuMsPerReq: number) => ({ requests: 100, rps: 50, p50: 1, p99: 2, cpuMsPerReq });
const results = (streamLoad?: unknown, agentLoad?: unknown) => ({
  load: [{ connections: 1, floor: run(0.5), metering: run(0.6), gateway: run(0.8) }],
  streamTtfb: { floor: 3.5, gateway: 4.25 },
  ...(streamLoad ? { streamLoad } : {}),
  ...(agentLoad ? { agentLoad } : {}),
  bundle: { rawBytes: 2048, gzipBytes: 1024 },
  setup: {
    date: "2026-12-03T00:00:00Z",
    cpus: 2,
    cpu: "CPU",
    node: "22",
    workerd: "x",
    seconds: 6,
    warmupSeconds: 1,
    rounds: 3,
    upstreamTtfbMs: 0,
    upstreamChunkGapMs: 2,
    ttfbSamples: 50,
  },
});

describe("The bench's report", () => {
  it("has a row for a streamed request's CPU: the floor, Sluice and the difference", () => {
    const table: string = markdown(
      results({ connections: 1, events: 10, floor: run(1.88), gateway: run(4.14) }),
    );
    const line = table.split("\n").find((l) => l.includes("streamed request"));
    expect(line).toBe(
      "| workerd CPU per streamed request (10 events), 1 conn (ms) | 1.88 |  | 4.14 | +2.26 |  |",
    );
    expect(table).toContain("a streamed request's CPU comes from the same streaming request under load");
  });

  it("leaves the row out for results written before the bench measured it", () => {
    const table: string = markdown(results());
    expect(table).not.toContain("streamed request");
    expect(table).toContain("| Streaming time to first token, median (ms) | 3.50 |  | 4.25 | +0.75 |  |");
  });

  it("has rows for the agent-sized /v1/messages passthrough: latency and CPU against the floor", () => {
    const agent = {
      connections: 1,
      bytes: 208_883,
      floor: { ...run(1.25), p50: 2.1 },
      gateway: { ...run(3.9), p50: 4.8 },
    };
    const table: string = markdown(
      results({ connections: 1, events: 10, floor: run(1.9), gateway: run(4) }, agent),
    );
    const rows = table.split("\n").filter((l) => l.includes("/v1/messages passthrough"));
    expect(rows).toEqual([
      "| p50 latency, 209 KB /v1/messages passthrough, 1 conn (ms) | 2.10 |  | 4.80 | +2.70 |  |",
      "| workerd CPU per request, 209 KB /v1/messages passthrough, 1 conn (ms) | 1.25 |  | 3.90 | +2.65 |  |",
    ]);
    expect(table).toContain("the passthrough rows send a coding agent's Anthropic Messages request");
    expect(markdown(results())).not.toContain("passthrough rows");
  });
});
