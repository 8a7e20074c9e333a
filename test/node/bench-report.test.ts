import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { markdown } from "../../bench/report.mjs";

// The bench's markdown table: the streamed request's CPU row, Sluice against the floor.

const run = (cpuMsPerReq: number) => ({ requests: 100, rps: 50, p50: 1, p99: 2, cpuMsPerReq });
const results = (streamLoad?: unknown) => ({
  load: [{ connections: 1, floor: run(0.5), metering: run(0.6), gateway: run(0.8) }],
  streamTtfb: { floor: 3.5, gateway: 4.25 },
  ...(streamLoad ? { streamLoad } : {}),
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
});
