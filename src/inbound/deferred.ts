import type { ParsedCall } from "./types";

type Json = Record<string, unknown>;

/** What a deferred call knows before its canonical form is made: the fields the pipeline reads of every call. */
export interface KnownFields {
  model: string;
  /** The canonical `user` (the end user the client names), when the request names one. */
  user?: string | undefined;
  stream: boolean;
}

/**
 * A ParsedCall whose canonical form is made the first time anything reads it: `make` runs then, once. A call
 * that passes through (its target speaks the client's format) never reads it, so a coding agent's 200 KB
 * request is not translated for nothing (~0.3 ms of workerd CPU in the bench). `body` reads `model` and `user`
 * from `known` until the form is made; every other read, key listing or write makes it first. `make` may throw
 * (a 400 for a request it cannot translate): the read that made it throws, inside the pipeline's error path.
 *
 * @example deferredCall({ model: req.model, stream: false }, () => fromMessagesRequest(req))
 */
export function deferredCall(known: KnownFields, make: () => { body: Json; dropped: string[] }): ParsedCall {
  let made: { body: Json; dropped: string[] } | undefined;
  const form = () => {
    made ??= make();
    return made;
  };
  const body = (): Json => form().body;
  const proxy = new Proxy({} as ParsedCall["body"], {
    get: (_t, k) =>
      made === undefined && (k === "model" || k === "user") ? known[k] : Reflect.get(body(), k),
    has: (_t, k) => Reflect.has(body(), k),
    ownKeys: () => Reflect.ownKeys(body()),
    // A descriptor the empty target lacks must be configurable, or the proxy breaks its invariants.
    getOwnPropertyDescriptor: (_t, k) => {
      const d = Reflect.getOwnPropertyDescriptor(body(), k);
      return d && { ...d, configurable: true };
    },
    set: (_t, k, v) => Reflect.set(body(), k, v),
    deleteProperty: (_t, k) => Reflect.deleteProperty(body(), k),
    defineProperty: (_t, k, d) => Reflect.defineProperty(body(), k, d),
  });
  return {
    body: proxy,
    stream: known.stream,
    get dropped() {
      return form().dropped;
    },
  };
}
