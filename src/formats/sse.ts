/** One server-sent event. `data` holds the event's data lines joined by "\n". */
export interface SseEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * The one incremental SSE parser (WHATWG event-stream rules: `\r\n`, `\r` or `\n` line ends, comments,
 * multi-line data, a blank line dispatches). Feed it decoded text as it arrives; it calls `emit` per event.
 *
 * @example const p = new SseParser((e) => console.log(e.data)); p.push(text); p.end();
 */
export class SseParser {
  private buf = "";
  private data: string[] = [];
  private event: string | undefined;
  private id: string | undefined;

  constructor(private readonly emit: (e: SseEvent) => void) {}

  push(text: string): void {
    let buf = this.buf + text;
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let m = LINE_END.exec(buf); m; m = LINE_END.exec(buf)) {
      // A lone "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
      if (m[0] === "\r" && m.index === buf.length - 1) break;
      this.line(buf.slice(start, m.index));
      start = m.index + m[0].length;
    }
    buf = buf.slice(start);
    this.buf = buf;
  }

  /** Flushes what is left when the stream ends; an event cut before its blank line is still delivered. */
  end(): void {
    if (this.buf) this.line(this.buf.replace(/\r$/, ""));
    this.buf = "";
    this.dispatch();
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
  }

  private dispatch(): void {
    if (this.data.length > 0) this.emit({ event: this.event, data: this.data.join("\n"), id: this.id });
    this.data = [];
    this.event = undefined;
  }
}

/** Serialises one event in SSE framing. */
export function formatSse(data: string, event?: string): string {
  const lines = data
    .split("\n")
    .map((l) => `data: ${l}\n`)
    .join("");
  return `${event ? `event: ${event}\n` : ""}${lines}\n`;
}
