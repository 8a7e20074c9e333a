// Renders bench results as a markdown table for the README.

const ms = (v) => v.toFixed(2);
const plus = (v, fmt) => `${v >= 0 ? "+" : "−"}${fmt(Math.abs(v))}`;

/** One row: floor, metering Worker, gateway, and the gateway's difference from each (relative when `relative`). */
function row(label, floor, metering, gateway, fmt, relative = false) {
  const diff = (base) =>
    base === undefined
      ? ""
      : relative
        ? `${plus(((gateway - base) / base) * 100, (v) => v.toFixed(0))} %`
        : plus(gateway - base, fmt);
  const cell = (v) => (v === undefined ? "" : fmt(v));
  return `| ${label} | ${fmt(floor)} | ${cell(metering)} | ${fmt(gateway)} | ${diff(floor)} | ${diff(metering)} |`;
}

/** The markdown table (and a line on how it was measured) for a results object written by bench/run.mjs. */
export function markdown(results) {
  const lines = [
    "| Metric | Bare Worker (floor) | Metering Worker | Sluice | Sluice − floor | Sluice − metering |",
    "| --- | --: | --: | --: | --: | --: |",
  ];
  for (const { connections, floor, metering, gateway } of results.load) {
    const c = `${connections} conn`;
    lines.push(
      row(`p50 latency, ${c} (ms)`, floor.p50, metering?.p50, gateway.p50, ms),
      row(`p99 latency, ${c} (ms)`, floor.p99, metering?.p99, gateway.p99, ms),
      row(`Throughput, ${c} (req/s)`, floor.rps, metering?.rps, gateway.rps, (v) => v.toFixed(0), true),
      row(
        `workerd CPU per request, ${c} (ms)`,
        floor.cpuMsPerReq,
        metering?.cpuMsPerReq,
        gateway.cpuMsPerReq,
        ms,
      ),
    );
  }
  const { floor, gateway } = results.streamTtfb;
  lines.push(row("Streaming time to first token, median (ms)", floor, undefined, gateway, ms));
  if (results.streamLoad) {
    const { events, floor: f, gateway: g } = results.streamLoad;
    lines.push(
      row(
        `workerd CPU per streamed request (${events} events), 1 conn (ms)`,
        f.cpuMsPerReq,
        undefined,
        g.cpuMsPerReq,
        ms,
      ),
    );
  }
  if (results.agentLoad) {
    const { bytes, floor: f, gateway: g } = results.agentLoad;
    const what = `${Math.round(bytes / 1000)} KB /v1/messages passthrough, 1 conn`;
    lines.push(
      row(`p50 latency, ${what} (ms)`, f.p50, undefined, g.p50, ms),
      row(`workerd CPU per request, ${what} (ms)`, f.cpuMsPerReq, undefined, g.cpuMsPerReq, ms),
    );
  }
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  lines.push(
    `| Bundle size, gzip (raw) | | | ${kib(results.bundle.gzipBytes)} (${kib(results.bundle.rawBytes)}) | | |`,
  );
  if (results.limits) {
    lines.push(
      "",
      `Limits (upstream TTFB ${results.setup.limitsUpstreamTtfbMs} ms; added = the mode minus a key without limits):`,
      "",
      "| Key | p50 (ms) | p99 (ms) | added p50 | added p99 | workerd CPU per request (ms) |",
      "| --- | --: | --: | --: | --: | --: |",
    );
    for (const { connections, ...modes } of results.limits) {
      for (const [mode, r] of Object.entries(modes)) {
        const added = (v, base) => (mode === "none" ? "" : plus(v - base, ms));
        lines.push(
          `| ${mode}, ${connections} conn | ${ms(r.p50)} | ${ms(r.p99)} | ${added(r.p50, modes.none.p50)} | ${added(r.p99, modes.none.p99)} | ${ms(r.cpuMsPerReq)} |`,
        );
      }
    }
  }
  if (results.cache) {
    const c = results.cache;
    const cacheRow = (label, r, base) =>
      `| ${label} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.rps.toFixed(0)} | ${ms(r.cpuMsPerReq)} | ${base ? plus(r.cpuMsPerReq - base.cpuMsPerReq, ms) : ""} |`;
    lines.push(
      "",
      "Response cache (1 connection; CPU added = beside the upstream round trip, or the miss with the cache off):",
      "",
      "| Call | p50 (ms) | p99 (ms) | req/s | workerd CPU per request (ms) | CPU added |",
      "| --- | --: | --: | --: | --: | --: |",
      cacheRow("upstream round trip, cache off", c.upstream),
      cacheRow("exact hit (KV)", c.exactHit, c.upstream),
      cacheRow("semantic hit (embed + local index + KV)", c.semanticHit, c.upstream),
      cacheRow("miss, cache off (new question each time)", c.missCacheOff),
      cacheRow("miss, cache on (lookup + fill)", c.missCacheOn, c.missCacheOff),
    );
  }
  const s = results.setup;
  lines.push(
    "",
    `Measured ${s.date.slice(0, 10)} on ${s.cpus}× ${s.cpu}, Node ${s.node}, workerd ${s.workerd}: autocannon ` +
      `POSTs a chat completion for ${s.seconds} s per run after a ${s.warmupSeconds} s warm-up` +
      (s.rounds > 1
        ? ` (the three Workers' load runs in ${s.rounds} turns of ${+(s.seconds / s.rounds).toFixed(2)} s, taking turns, pooled)`
        : "") +
      ", to a Node " +
      `upstream on loopback (time to first byte ${s.upstreamTtfbMs} ms); TTFB (to the first token, over a raw socket) is the median of ${s.ttfbSamples} ` +
      `sequential streaming requests (upstream chunks ${s.upstreamChunkGapMs} ms apart)` +
      (results.streamLoad
        ? "; a streamed request's CPU comes from the same streaming request under load, the floor and Sluice in turns"
        : "") +
      (results.agentLoad
        ? "; the passthrough rows send a coding agent's Anthropic Messages request (system prompt, 20 tools, tool " +
          "turns) under load, the floor and Sluice in turns. "
        : ". ") +
      "The metering Worker (bench/metering.js) is the least a gateway that meters does: key hash, JSON in and " +
      "out, usage priced, a ledger row batched to a Durable Object and flushed to D1. " +
      "All three run on Miniflare with direct sockets (`npm run serve`).",
  );
  return lines.join("\n");
}
