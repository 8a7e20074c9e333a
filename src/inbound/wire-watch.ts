import { SseParser } from "../formats/sse";
import {
  relaySse,
  type StreamCut,
  type StreamOutcome,
  type StreamSource,
  type StreamTiming,
} from "../pipeline/stream";
import type { WatchedWire } from "./types";

type Json = Record<string, unknown>;

/** What a passthrough format reads from its own stream's events (see watchWire). */
export interface WireReader {
  /** One event's data, JSON-parsed (events that are not JSON objects are skipped). */
  event(data: Json): void;
  /** The stream reached its end event, or an error event: nothing needs adding when it closes. */
  ended(): boolean;
  /**
   * The framed SSE event that ends a stream that broke off or closed early (or that a limit ended: `why`), in
   * the format's error shape.
   */
  cutEvent(why?: StreamCut): string;
  /** The outcome, once the stream is over (`cut`: the code it was cut with, `upstream_stream_cut` or a limit's). */
  outcome(cut: string | null): StreamOutcome & { text: string | null; final?: Json | null };
}

/**
 * Passes a stream in the client's own format on byte for byte while `reader` reads its events; a stream that
 * breaks off or closes before its end event gets the reader's cut event, so the client's SDK reads an error
 * rather than a truncated answer. Shared by the Anthropic and the Responses passthrough.
 */
export function watchWire(upstream: StreamSource, reader: WireReader, timing?: StreamTiming): WatchedWire {
  let settle!: WatchedWire["done"] extends Promise<infer T> ? (v: T) => void : never;
  const done: WatchedWire["done"] = new Promise((r) => {
    settle = r;
  });
  const parser = new SseParser((e) => {
    let d: unknown;
    try {
      d = JSON.parse(e.data);
    } catch {
      return;
    }
    if (typeof d === "object" && d !== null && !Array.isArray(d)) reader.event(d as Json);
  });
  const decoder = new TextDecoder();
  let out!: ReadableStreamDefaultController<Uint8Array>;
  let sent = 0;
  let cut: string | null = null;
  const body = relaySse(
    upstream,
    {
      attach: (controller) => {
        out = controller;
      },
      count: () => sent,
      chunk(value) {
        sent++;
        out.enqueue(value);
        parser.push(decoder.decode(value, { stream: true }));
      },
      end(broken, why) {
        if (!broken) {
          parser.push(decoder.decode());
          parser.end();
        }
        if (!reader.ended()) {
          cut = why?.code ?? "upstream_stream_cut";
          out.enqueue(new TextEncoder().encode(reader.cutEvent(why)));
        }
      },
      finish: () => settle(reader.outcome(cut)),
    },
    timing,
  );
  return { body, done };
}
