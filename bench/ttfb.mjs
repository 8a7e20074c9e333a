// Streaming time-to-first-byte, measured with plain fetch.
import { percentile } from "./stats.mjs";

/** Time (ms) from sending one streaming request to its first body bytes; throws unless the stream ends in [DONE]. */
async function ttfb(url, init) {
  const start = performance.now();
  const res = await fetch(url, init);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let { value: text = "", done } = await reader.read();
  const ms = performance.now() - start;
  while (!done) {
    const next = await reader.read();
    text += next.value ?? "";
    done = next.done;
  }
  if (!res.ok || !text.trimEnd().endsWith("data: [DONE]")) {
    throw new Error(`${url}: streaming request failed (${res.status}): ${text.slice(0, 300)}`);
  }
  return ms;
}

/** Median TTFB over `samples` sequential streaming POSTs, after `warmup` unmeasured ones. */
export async function medianTtfb(url, { headers, body, samples, warmup = 5 }) {
  const init = { method: "POST", headers, body };
  for (let i = 0; i < warmup; i++) await ttfb(url, init);
  const times = [];
  for (let i = 0; i < samples; i++) times.push(await ttfb(url, init));
  return percentile(times, 50);
}
