import { responseStore } from "../cache";
import type { ResponseStore } from "../cache/store/interface";
import { kvStore } from "../cache/store/kv";
import type { Env } from "../env";
import type { ResponseKeeper } from "../inbound/openai-responses";

type Json = Record<string, unknown>;

/**
 * Stored responses of `/v1/responses` (`store: true`, the API's default), in the response cache's store port:
 * Workers KV (`CACHE`) read and written directly (no near L1: values run to a MiB, and a delete must not linger
 * in another isolate's memory), or the in-isolate twin when `CACHE` is not bound. One value per response:
 *
 *   rs:<Sluice key id>:<resp_…>  →  {"v":1,"response":<the Response object>,"input":[<input items as resolved>]}
 *
 * The key id in the KV key keeps every key to its own responses. `input` is the whole conversation before the
 * answer (a previous response's input and output first, item references replaced by the items), so continuing
 * from a response is one read. Output item ids carry their response's id (responses-stream.ts itemId), so an
 * `item_reference` is one read too, with no index to write or delete. Values past MAX_BYTES are not stored (the
 * answer says `store: false`); entries expire after TTL_SECONDS.
 */

/** 30 days, as OpenAI keeps stored responses ("at least 30 days"); KV's floor is 60 s. */
export const TTL_SECONDS = 30 * 24 * 60 * 60;
/** 1 MiB of JSON per response (the conversation so far, the Response object): past it, nothing is stored. */
export const MAX_BYTES = 1024 * 1024;

/** Sluice's response ids (`resp_` and 48 hex digits) and OpenAI's, which passthrough answers carry. */
const RESPONSE_ID = /^resp_[0-9A-Za-z]{16,100}$/;

export interface StoredResponse {
  v: 1;
  /** The Response object as it was answered (`store: true`). */
  response: Json & { id: string; output: Json[] };
  /** The input items the response answered, every one with an id, previous turns first. */
  input: Json[];
  /** The provider that answered it as a passthrough, which holds it upstream too (continuing there sends the id). */
  heldBy?: string;
}

/**
 * Values being written, by KV key: a client that continues at once (the AI SDK's next step) may ask before the
 * put has landed, so this isolate reads them here until it has. Values, not promises: nothing awaits another
 * request's I/O.
 */
const writing = new Map<string, string>();

const keyOf = (keyId: string, responseId: string) => `rs:${keyId}:${responseId}`;

/** UTF-8 length of `s`, counted only when its length alone does not decide against `MAX_BYTES`. */
function fits(s: string): boolean {
  if (s.length > MAX_BYTES) return false;
  if (s.length * 3 <= MAX_BYTES) return true;
  return new TextEncoder().encode(s).byteLength <= MAX_BYTES;
}

export interface Conversations {
  /** This key's stored response `id`, or null (unknown, expired, deleted, another key's, not an id of ours). */
  load(keyId: string, id: string): Promise<StoredResponse | null>;
  /** Deletes this key's stored response; false when there is none. */
  delete(keyId: string, id: string): Promise<boolean>;
  /** The keeper that stores the answer to `input` (see ResponseKeeper), writing under `waitUntil`. */
  keeper(opts: { keyId: string; input: Json[]; waitUntil: (work: Promise<unknown>) => void }): ResponseKeeper;
}

const stores = new WeakMap<Env, ResponseStore>();

function storeOf(env: Env): ResponseStore {
  let store = stores.get(env);
  if (!store) {
    store = env.CACHE ? kvStore(env.CACHE) : responseStore(env);
    stores.set(env, store);
  }
  return store;
}

/** The stored responses of a deployment. */
export function conversations(env: Env): Conversations {
  const store = storeOf(env);
  const load = async (keyId: string, id: string): Promise<StoredResponse | null> => {
    if (!RESPONSE_ID.test(id)) return null;
    const key = keyOf(keyId, id);
    const text = writing.get(key) ?? (await store.get(key));
    if (text === null) return null;
    const value = JSON.parse(text) as StoredResponse;
    return value.v === 1 && value.response?.id === id ? value : null;
  };
  return {
    load,
    async delete(keyId, id) {
      if (!(await load(keyId, id))) return false;
      const key = keyOf(keyId, id);
      writing.delete(key);
      await store.delete(key);
      return true;
    },
    keeper({ keyId, input, waitUntil }) {
      return {
        wants: fits(JSON.stringify(input)),
        keep(response, heldBy) {
          response.store = true;
          const value = JSON.stringify({ v: 1, response, input, ...(heldBy ? { heldBy } : {}) });
          if (!fits(value)) {
            response.store = false;
            return;
          }
          const key = keyOf(keyId, String(response.id));
          writing.set(key, value);
          const put = store
            .put(key, value, { ttlSeconds: TTL_SECONDS, metadata: { a: "responses", c: Date.now() } })
            .catch((err: unknown) =>
              console.error(
                JSON.stringify({
                  event: "sluice.responses.store_failed",
                  id: response.id,
                  error: String(err),
                }),
              ),
            )
            .finally(() => {
              if (writing.get(key) === value) writing.delete(key);
            });
          waitUntil(put);
        },
      };
    },
  };
}
