import { env, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { SpendBuffer } from "../../src/spend/buffer";
import { SPEND_COLUMNS, type SpendRow } from "../../src/spend/row";
import { ADMIN_TOKEN, type Gateway } from "../helpers/gateway";

/** Creates a key through the admin API; returns its id and secret. */
export async function newKey(g: Gateway, body: Record<string, unknown> = { name: "spender" }) {
  const res = await g.fetch("/admin/keys", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const k = (await res.json()) as { id: string; key: string };
  return { id: k.id, secret: k.key };
}

/** Rows still buffered in every SpendBuffer object. */
export async function pendingRows(): Promise<number> {
  let n = 0;
  for (const id of await listDurableObjectIds(env.SPEND)) {
    n += await runInDurableObject(env.SPEND.get(id), (o: SpendBuffer) => o.pendingCount());
  }
  return n;
}

/** Runs every buffer's flush alarm until nothing is pending (bounded: D1 failing for good is a test failure). */
export async function flushSpend(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    for (const id of await listDurableObjectIds(env.SPEND)) await runDurableObjectAlarm(env.SPEND.get(id));
    if ((await pendingRows()) === 0) return;
  }
  throw new Error(`spend rows still pending: ${await pendingRows()}`);
}

/** The ledger's rows for one key, oldest first. */
export async function rowsOf(keyId: string): Promise<SpendRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM spend WHERE key_id = ? ORDER BY ts, request_id")
    .bind(keyId)
    .all<SpendRow>();
  return results;
}

/** GET with the admin token (or a given bearer). */
export function getWith(g: Gateway, path: string, bearer: string | null = ADMIN_TOKEN) {
  return g.fetch(path, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
}

/** A spend row with every column set; `over` changes some. */
export function row(over: Partial<SpendRow> = {}): SpendRow {
  return {
    request_id: `req_${crypto.randomUUID()}`,
    client_request_id: null,
    ts: Date.UTC(2026, 0, 10, 12),
    key_id: "key_test",
    team: null,
    end_user: null,
    metadata: null,
    model: "m",
    provider: "p",
    upstream_model: "m",
    target_index: 0,
    op: "chat",
    status: 200,
    error_code: null,
    stream: 0,
    completed: 1,
    input_tokens: 10,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    output_tokens: 5,
    reasoning_tokens: 0,
    cost_pusd: 1_000_000,
    cache: "BYPASS",
    saved_pusd: 0,
    latency_ms: 3,
    ttfb_ms: 2,
    retries: 0,
    ...over,
  };
}

/** The rows of a SpendBuffer's stored text (an array of tuples, values in SPEND_COLUMNS order), as rows. */
export function storedRows(text: string): SpendRow[] {
  const tuples = JSON.parse(text) as unknown[][];
  return tuples.map((t) => Object.fromEntries(SPEND_COLUMNS.map((c, i) => [c, t[i]])) as unknown as SpendRow);
}
