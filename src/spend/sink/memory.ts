import type { CallRecord } from "../record";
import type { SpendSink } from "./interface";

/** A spend sink that keeps the records in memory, in order (`records`): the pipeline without a ledger. */
export function memorySink(): SpendSink & { records: CallRecord[] } {
  const records: CallRecord[] = [];
  return {
    records,
    record: (rec) => {
      records.push(rec);
      return null;
    },
  };
}
