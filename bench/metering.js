// The bench's second reference: the least a gateway that meters calls must do, written as plainly as possible.
// It authenticates the bearer key (SHA-256, then an in-isolate map), reads the JSON request, sends it upstream
// with the model swapped, reads the answer for its usage, prices it in integer pico-USD and answers with a few
// headers. Its ledger rows are batched per isolate for 100 ms, stored by a SQLite-backed Durable Object and
// flushed from there to D1 every second, as Sluice's ledger does. No limits, routing, retries, validation or
// timeouts: what Sluice costs beyond this Worker is the price of those.
import { DurableObject } from "cloudflare:workers";

const keys = new Map();
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();
let batch = null;

export class Ledger extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, row TEXT NOT NULL)");
  }

  /** A batch is one stored row (its JSON array), as in Sluice's SpendBuffer. */
  async recordAll(rows) {
    this.ctx.storage.sql.exec("INSERT INTO pending (row) VALUES (?)", JSON.stringify(rows));
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 1000);
  }

  /** Flushes up to 5 statements of 10 batches each to D1; more left: again at once. */
  async alarm() {
    this.tableReady ??= this.env.DB.prepare(
      "CREATE TABLE IF NOT EXISTS spend (request_id TEXT PRIMARY KEY, ts INTEGER, key_id TEXT, model TEXT, input_tokens INTEGER, output_tokens INTEGER, cost_pusd INTEGER)",
    ).run();
    await this.tableReady;
    for (let i = 0; i < 5; i++) {
      const rows = this.ctx.storage.sql.exec("SELECT seq, row FROM pending ORDER BY seq LIMIT 10").toArray();
      if (rows.length === 0) return;
      await this.env.DB.prepare(
        "WITH b AS MATERIALIZED (SELECT value AS j FROM json_each(?)) INSERT OR IGNORE INTO spend SELECT j ->> '$.id', j ->> '$.ts', j ->> '$.key', j ->> '$.model', j ->> '$.in', j ->> '$.out', j ->> '$.cost' FROM b",
      )
        .bind(`[${rows.map((r) => r.row.slice(1, -1)).join(",")}]`)
        .run();
      this.ctx.storage.sql.exec("DELETE FROM pending WHERE seq <= ?", rows[rows.length - 1].seq);
      if (rows.length < 10) return;
    }
    await this.ctx.storage.setAlarm(Date.now());
  }
}

export default {
  async fetch(request, env, ctx) {
    const secret = (request.headers.get("authorization") ?? "").replace(/^Bearer\s+/i, "");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
    let hash = "";
    for (const b of digest) hash += HEX[b];
    let key = keys.get(hash);
    if (!key) {
      key = { id: hash.slice(0, 16) };
      keys.set(hash, key);
    }
    const started = Date.now();
    const id = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    const body = JSON.parse(await request.text());
    const model = body.model;
    const res = await fetch(env.UPSTREAM_URL, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench" },
      body: JSON.stringify({ ...body, model: "bench-model" }),
    });
    const text = await res.text();
    const usage = JSON.parse(text).usage ?? {};
    const input = usage.prompt_tokens ?? 0;
    const output = usage.completion_tokens ?? 0;
    const cost = input * 1_000_000 + output * 2_000_000; // $1 and $2 per million tokens, in pico-USD
    const row = { id, ts: started, key: key.id, model, in: input, out: output, cost };
    if (batch) batch.push(row);
    else {
      const rows = [row];
      batch = rows;
      ctx.waitUntil(
        new Promise((r) => setTimeout(r, 100)).then(() => {
          batch = null;
          return env.LEDGER.get(env.LEDGER.idFromName("ledger")).recordAll(rows);
        }),
      );
    }
    return new Response(text, {
      status: res.status,
      headers: { "content-type": "application/json", "x-request-id": id, "x-cost-pusd": String(cost) },
    });
  },
};
