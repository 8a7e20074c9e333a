// A bench-only Worker for bench/scale.mjs: times the spend ledger's own D1 transaction (`writeRows`, the one a
// SpendBuffer flush runs) against local D1. POST { template, count, seq, keys } writes `count` copies of the
// template row (request ids from `seq`; `keys` > 1 gives every row its own key id, so every row opens its own
// daily rollup row) and answers { ms }, the time `writeRows` took.
import { writeRows } from "../src/spend/ledger.ts";

export default {
  async fetch(request, env) {
    const { template, count, seq, keys = 1 } = await request.json();
    const rows = [];
    for (let i = 0; i < count; i++) {
      const n = seq + i;
      rows.push({
        ...template,
        request_id: `req_scale_${n.toString(16).padStart(32, "0")}`,
        key_id: keys > 1 ? `key_scale_${n % keys}_${seq}` : template.key_id,
      });
    }
    const started = Date.now();
    await writeRows(env.DB, rows);
    return Response.json({ ms: Date.now() - started });
  },
};
