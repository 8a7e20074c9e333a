// Streaming time to the first token, measured with a raw HTTP/1.1 client on a socket.
import { connect } from "node:net";
import { percentile } from "./stats.mjs";

/** Whether an SSE text holds a chunk with content (a non-empty `delta.content`): the first token. */
const FIRST_TOKEN = /"delta":\{[^}]*"content":"[^"]/;
/** The end of a chunked HTTP body (the last chunk after the SSE stream's `[DONE]`). */
const BODY_END = /data: \[DONE\]\s*(?:\r\n0\r\n\r\n)?$/;
/** One request's limit: a stream that takes longer than this is a failure, not a sample. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Time (ms) from writing one streaming request on a fresh loopback connection to the arrival of the bytes that
 * hold its first token (the first chunk with content); throws unless the answer is a 200 whose stream ends in
 * [DONE]. A socket rather than `fetch`: the client's own work between the answer's headers and its body (Node's
 * fetch builds its Response and streams there, about half a millisecond here) would otherwise count whenever the
 * first token comes with the headers, as it does from a gateway that holds a stream until its first content
 * event, and not when it comes later, as from the bare Worker. Measured to the first token rather than the first
 * byte for the same reason: the first token is what a client waits for.
 */
function ttfb(url, { headers, body }) {
  const { hostname, port, pathname } = new URL(url);
  const head = [
    `POST ${pathname} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    "connection: close",
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    const timer = setTimeout(
      () => socket.destroy(new Error(`${url}: no whole answer within 10 s`)),
      REQUEST_TIMEOUT_MS,
    );
    let start = 0;
    let text = "";
    let ms = null;
    socket.setEncoding("utf8");
    socket.once("connect", () => {
      start = performance.now();
      socket.write(`${head}\r\n\r\n${body}`);
    });
    socket.on("data", (chunk) => {
      text += chunk;
      if (ms === null && FIRST_TOKEN.test(text)) ms = performance.now() - start;
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (!text.startsWith("HTTP/1.1 200") || ms === null || !BODY_END.test(text)) {
        reject(new Error(`${url}: streaming request failed: ${text.slice(0, 300)}`));
      } else resolve(ms);
    });
  });
}

/** Median TTFB over `samples` sequential streaming POSTs, after `warmup` unmeasured ones. */
export async function medianTtfb(url, { headers, body, samples, warmup = 5 }) {
  for (let i = 0; i < warmup; i++) await ttfb(url, { headers, body });
  const times = [];
  for (let i = 0; i < samples; i++) times.push(await ttfb(url, { headers, body }));
  return percentile(times, 50);
}
