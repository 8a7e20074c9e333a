/**
 * The AWS event-stream binary framing (Bedrock's ConverseStream): each message is
 * `total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload | message CRC32 (4)`,
 * big-endian, both CRCs checked. The decoder is incremental: bytes may arrive cut anywhere.
 */

export interface EventMessage {
  headers: Record<string, string | number | boolean>;
  payload: Uint8Array;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as the framing uses it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const utf8 = new TextDecoder();

/** One header value at `i` by its type tag (0/1 bool, 2 byte, 3 short, 4 int, 5 long, 6 bytes, 7 string,
 * 8 timestamp, 9 uuid), and the bytes it took. */
function readValue(
  view: DataView,
  bytes: Uint8Array,
  type: number,
  i: number,
): [string | number | boolean, number] {
  switch (type) {
    case 0:
    case 1:
      return [type === 0, 0];
    case 2:
      return [view.getInt8(i), 1];
    case 3:
      return [view.getInt16(i), 2];
    case 4:
      return [view.getInt32(i), 4];
    case 5:
    case 8:
      return [Number(view.getBigInt64(i)), 8];
    case 9:
      return [[...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join(""), 16];
    case 6:
    case 7: {
      const len = view.getUint16(i);
      const value = bytes.subarray(i + 2, i + 2 + len);
      return [type === 7 ? utf8.decode(value) : btoa(String.fromCharCode(...value)), 2 + len];
    }
    default:
      throw new Error(`event-stream: unknown header type ${type}`);
  }
}

function readHeaders(view: DataView, bytes: Uint8Array, start: number, end: number): EventMessage["headers"] {
  const out: EventMessage["headers"] = {};
  let i = start;
  while (i < end) {
    const nameLen = view.getUint8(i);
    const name = utf8.decode(bytes.subarray(i + 1, i + 1 + nameLen));
    i += 1 + nameLen;
    const [value, size] = readValue(view, bytes, view.getUint8(i), i + 1);
    out[name] = value;
    i += 1 + size;
  }
  return out;
}

/** Incremental decoder: `push` bytes as they arrive; `emit` gets each whole, checked message. */
export class EventStreamDecoder {
  private buf = new Uint8Array(0);

  constructor(private readonly emit: (m: EventMessage) => void) {}

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    let at = 0;
    while (joined.length - at >= 12) {
      const view = new DataView(joined.buffer, joined.byteOffset + at);
      const total = view.getUint32(0);
      if (total < 16) throw new Error("event-stream: invalid message length");
      if (joined.length - at < total) break;
      const msg = joined.subarray(at, at + total);
      if (crc32(msg.subarray(0, 8)) !== view.getUint32(8))
        throw new Error("event-stream: prelude checksum mismatch");
      if (crc32(msg.subarray(0, total - 4)) !== view.getUint32(total - 4)) {
        throw new Error("event-stream: message checksum mismatch");
      }
      const headersLen = view.getUint32(4);
      this.emit({
        headers: readHeaders(view, msg, 12, 12 + headersLen),
        payload: msg.slice(12 + headersLen, total - 4),
      });
      at += total;
    }
    this.buf = joined.slice(at);
  }

  /** A stream that ends inside a message is an error. */
  end(): void {
    if (this.buf.length > 0) throw new Error("event-stream: stream ended inside a message");
  }
}
