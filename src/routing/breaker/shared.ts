import type { CircuitBreaker } from "./durable-object";
import type { Breakers, BreakerView } from "./interface";
import { type BreakerState, forcedTo, INDEX_NAME, viewOf } from "./machine";
import { BreakerTable, type Entry } from "./table";

export interface SharedOptions {
  /** The clock (ms since the epoch); `Date.now` by default. Also the time the objects are told. */
  now?: () => number;
  /** A view older than this is refreshed from its object in the background (default 1000 ms). */
  refreshMs?: number;
}

/** A refresh not settled after this long (its request's waitUntil was cut short) no longer blocks the next. */
const STUCK_MS = 10_000;

interface Isolate {
  ns: DurableObjectNamespace<CircuitBreaker>;
  table: BreakerTable;
  refreshMs: number;
  ids: Map<string, DurableObjectId>;
}

const isolates = new WeakMap<object, Isolate>();

const logFailure = (what: string, id: string) => (err: unknown) =>
  console.error(JSON.stringify({ event: "sluice.breaker.unreachable", what, id, error: String(err) }));

/**
 * The breakers shared across isolates through the `BREAKERS` Durable Objects (one per target id), read through
 * this isolate's view (one per env object). `allow` only reads the view; a view older than `refreshMs` is
 * refreshed by one background `read()` per id and interval, so a healthy target costs no round trip on the
 * request's path. `report(false)` changes the view at once and sends the failure; `report(true)` sends only a
 * half-open probe's success. Each object's answer becomes the view; an unreachable object leaves the view as it is
 * (the isolate goes on as its own local breaker). Options apply when the env's view is made.
 */
export function sharedBreakers(
  env: { BREAKERS: DurableObjectNamespace<CircuitBreaker> },
  waitUntil: (work: Promise<unknown>) => void,
  options: SharedOptions = {},
): Breakers {
  let iso = isolates.get(env);
  if (!iso) {
    iso = {
      ns: env.BREAKERS,
      table: new BreakerTable(options.now ?? Date.now),
      refreshMs: options.refreshMs ?? 1000,
      ids: new Map(),
    };
    isolates.set(env, iso);
  }
  const { ns, table, refreshMs } = iso;
  const ids = iso.ids;
  const stub = (id: string) => {
    let oid = ids.get(id);
    if (!oid) {
      oid = ns.idFromName(id);
      ids.set(id, oid);
    }
    return ns.get(oid);
  };
  /** Sends a request for one entry in the background; its answer becomes the view unless the view moved on. */
  const send = (id: string, e: Entry, what: string, now: number, rpc: () => Promise<BreakerState>) => {
    const seq = e.seq;
    waitUntil(rpc().then((s) => table.take(e, s, seq, now), logFailure(what, id)));
  };
  const refresh = (id: string, e: Entry, now: number) => {
    if (e.refreshingAt !== null && now - e.refreshingAt < STUCK_MS) return;
    e.refreshingAt = now;
    const seq = e.seq;
    waitUntil(
      stub(id)
        .read()
        .then(
          (s) => table.take(e, s, seq, now),
          (err) => {
            e.fetchedAt = now;
            logFailure("read", id)(err);
          },
        )
        .finally(() => {
          e.refreshingAt = null;
        }),
    );
  };
  const read = async (id: string): Promise<BreakerView> => {
    const e = table.entry(id);
    const seq = e.seq;
    const now = table.now();
    const s = await stub(id).read();
    table.take(e, s, seq, now);
    return viewOf(id, s, table.now());
  };

  return {
    allow(id, settings) {
      const now = table.now();
      const e = table.entry(id);
      if (now - e.fetchedAt >= refreshMs) refresh(id, e, now);
      return table.allow(e, settings, now);
    },
    report(id, settings, ok) {
      const now = table.now();
      const { entry, before } = table.report(id, settings, ok, now);
      if (ok ? before !== "half-open" : before === "open") return;
      send(id, entry, "report", now, () => stub(id).report(ok, settings, now));
    },
    async list() {
      const index = ns.get(ns.idFromName(INDEX_NAME));
      const known = new Set([...(await index.ids()), ...table.entries.keys()]);
      return Promise.all([...known].sort().map(read));
    },
    async force(id, state) {
      const e = table.entry(id);
      const now = table.now();
      table.set(e, forcedTo(e.state, state, now));
      const s = await stub(id).force(state, now);
      table.take(e, s, e.seq, now);
      return viewOf(id, s, table.now());
    },
  };
}
