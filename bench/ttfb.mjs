// Streaming time to the first token, measured with plain fetch.
import { percentile } from "./stats.mjs";

/** Whether an SSE text holds a chunk with content (a non-empty `delta.content`): the first token. */
const FIRST_TOKEN = /"delta":\{[^}]*"content":"[^"]/;

/**
 * Time (ms) from sending one streaming request to its first token (the first chunk with content); throws unless
 * the stream ends in [DONE]. Measured to the first token rather than the first byte: the gateway holds a stream's
 * role-only preamble until its first content event (failover before the first token), and the first token is
 * what a client waits for.
 */
async function ttfb(url, init) {
  const start = performance.now();
  const res = await fetch(url, init);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let ms = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (ms === null && FIRST_TOKEN.test(text)) ms = performance.now() - start;
  }
  if (!res.ok || ms === null || !text.trimEnd().endsWith("data: [DONE]")) {
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
