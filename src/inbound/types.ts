import type { Usage } from "../formats/usage";
import type { ErrorShape, GatewayError } from "../http/errors";
import type { StreamOutcome, StreamSource, StreamTiming } from "../pipeline/stream";
import type { Operation, WireFormat } from "../providers/types";
import type { InboundName } from "../routing/rules";

/** A client's request as an inbound format parsed it: the canonical (OpenAI) call. */
export interface ParsedCall {
  /** OpenAI chat or embeddings fields: what every provider adapter takes. */
  body: Record<string, unknown> & { model: string };
  stream: boolean;
  /** Request parts this format could not carry into the canonical form (listed in `x-sluice-dropped-params`). */
  dropped: string[];
  /**
   * Why the canonical form cannot stand for the request at all (items only a passthrough target can take): a 400
   * from every target that would translate it.
   */
  untranslatable?: GatewayError | undefined;
}

/**
 * One client dialect (OpenAI chat, OpenAI embeddings, Anthropic messages): how its requests become the canonical
 * call, and how canonical answers, streams and errors are written back in its wire format. The pipeline knows
 * nothing else about a dialect.
 */
export interface InboundFormat {
  /** The dialect's name, as routing rules name it (`format` in a condition, routing/rules.ts). */
  readonly name: InboundName;
  readonly op: Operation;
  /** The paths this format owns: every answer on them, errors included, is in `errorShape`. */
  readonly paths: readonly string[];
  readonly errorShape: ErrorShape;
  /** Validates the client's JSON (a 400 naming the parameter) into the canonical call. */
  parse(json: unknown, headers: Headers): ParsedCall;
  /** A canonical JSON answer (OpenAI `chat.completion` or embeddings text) → this format's JSON text. */
  answer(canonical: string, headers: Headers): string;
  /** A canonical chunk stream → this format's SSE (an OpenAI-format stream passes as it is). */
  stream(canonical: ReadableStream<Uint8Array>, headers: Headers): ReadableStream<Uint8Array>;
  /** Whether the client gets the usage-only chunk the gateway always asks for. */
  wantsUsageChunk(call: ParsedCall): boolean;
  /** Present when targets may speak this format too: the client's request then passes through as it came. */
  readonly passthrough?: Passthrough;
  /** True when the client's body is the canonical request itself (OpenAI chat, embeddings): see ClientText. */
  readonly canonical?: boolean;
}

/** How a format reads answers that a target gave in the format itself (they go back to the client untouched). */
export interface Passthrough {
  format: WireFormat;
  /** A JSON answer's usage. */
  usage(json: Record<string, unknown>): Usage | null;
  /** A JSON answer in the canonical form, for the stages (the cache stores canonical answers). */
  canonical(json: Record<string, unknown>): string;
  /** A stream passed on byte for byte, watched for usage and its end; `assemble`: its canonical answer too. */
  watch(body: StreamSource, assemble: boolean, timing?: StreamTiming): WatchedWire;
  /**
   * Told of a passthrough's whole answer in the format itself (a JSON answer, or a stream's `final`), with the
   * provider that gave it, off the response path: the Responses format stores it (`store`).
   */
  answered?(headers: Headers, answer: Record<string, unknown>, provider: string): void;
}

export interface WatchedWire {
  body: ReadableStream<Uint8Array>;
  /**
   * With `text`: the whole answer in the canonical form, when asked for and the stream completed; `final`: the
   * answer's last object in the format itself, where its stream carries one (a Response, for `answered`).
   */
  done: Promise<StreamOutcome & { text: string | null; final?: Record<string, unknown> | null }>;
}

/** Whether `path` is one of the format's paths or below one (`/v1/messages/count_tokens`). */
export function owns(format: InboundFormat, path: string): boolean {
  return format.paths.some((p) => path === p || path.startsWith(`${p}/`));
}
