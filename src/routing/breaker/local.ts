import type { Breakers } from "./interface";
import { forcedTo, viewOf } from "./machine";
import { BreakerTable } from "./table";

export interface LocalOptions {
  /** The clock (ms since the epoch); `Date.now` by default. */
  now?: () => number;
}

const tables = new WeakMap<object, BreakerTable>();

/**
 * The in-isolate twin of the shared breakers, used when `BREAKERS` is not bound: the same state machine, held
 * per env object (per isolate) and known to this isolate only. Options apply when the env's table is made.
 */
export function localBreakers(key: object, options: LocalOptions = {}): Breakers {
  let table = tables.get(key);
  if (!table) {
    table = new BreakerTable(options.now ?? Date.now);
    tables.set(key, table);
  }
  const t = table;
  return {
    allow: (id, settings) => t.allow(t.entry(id), settings, t.now()),
    report: (id, settings, ok) => void t.report(id, settings, ok, t.now()),
    list: async () => [...t.entries].map(([id, e]) => viewOf(id, e.state, t.now())),
    force: async (id, state) => {
      const e = t.entry(id);
      t.set(e, forcedTo(e.state, state, t.now()));
      return viewOf(id, e.state, t.now());
    },
  };
}
