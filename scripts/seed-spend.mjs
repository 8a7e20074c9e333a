// Demo and benchmark data: spend rows spread over past days, written straight into a local D1 (never shipped,
// never run against a deployed database). Rows go in with `rolled = 0`, so the gateway's own ledger rolls them
// into `spend_daily` on its next flush, exactly as it does real rows.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { migrate, wrangler } from "./serve-lib.mjs";

/** Demo keys (their hashes match no secret: they only name the seeded rows). */
export const DEMO_KEYS = [
  { id: "key_demo_web", name: "web-app", team: "product" },
  { id: "key_demo_support", name: "support-bot", team: "support" },
  { id: "key_demo_batch", name: "nightly-batch", team: "data" },
  { id: "key_demo_eval", name: "evals", team: null },
];

/** Demo models with USD prices per million tokens (input, output). */
export const DEMO_MODELS = [
  { model: "gpt-4.1-mini", provider: "openai", input: 0.4, output: 1.6 },
  { model: "gpt-4.1", provider: "openai", input: 2, output: 8 },
  { model: "claude-sonnet-4-5", provider: "anthropic", input: 3, output: 15 },
  { model: "gemini-2.5-flash", provider: "gemini", input: 0.3, output: 2.5 },
];
/** As clients name them: `provider/model`. */
const requested = (m) => `${m.provider}/${m.model}`;

const q = (s) => (s === null ? "NULL" : `'${String(s).replaceAll("'", "''")}'`);

/** SQL inserting the demo keys and `rows` spend rows spread over the `days` before `now` (one statement). */
export function seedSql({ rows, days, now = Date.now() }) {
  const keys = DEMO_KEYS.map(
    (k) =>
      `INSERT OR IGNORE INTO keys (id, hash, prefix, name, team, metadata, created_at) VALUES (${q(k.id)}, ${q(`seed-${k.id}`)}, 'sk-sluice-demo…', ${q(k.name)}, ${q(k.team)}, '{}', '${new Date(now - days * 86_400_000).toISOString()}');`,
  );
  const pick = (list, expr) => `CASE ${expr} ${list.map((v, i) => `WHEN ${i} THEN ${v}`).join(" ")} END`;
  const span = days * 86_400_000;
  // Traffic grows over the period and has a daily rhythm; 1 call in 40 fails; every 25th is unpriced.
  const spend = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows - 1}),
r AS (SELECT i, ${now} - CAST(${span} * (1.0 - sqrt((i + 0.5) / ${rows})) AS INTEGER) AS ts,
        (i * 7) % ${DEMO_KEYS.length} AS k, (i * 13 + i / 97) % ${DEMO_MODELS.length} AS m,
        i % 40 = 39 AS failed, 200 + abs(random()) % 1800 AS tin, 20 + abs(random()) % 600 AS tout FROM n)
INSERT INTO spend (request_id, ts, key_id, team, end_user, metadata, model, provider, upstream_model, target_index, op,
  status, error_code, stream, completed, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
  reasoning_tokens, cost_pusd, cache, saved_pusd, latency_ms, ttfb_ms, retries, rolled)
SELECT 'seed_' || i || '_' || ${now}, ts, ${pick(
    DEMO_KEYS.map((k) => q(k.id)),
    "k",
  )}, ${pick(
    DEMO_KEYS.map((k) => q(k.team)),
    "k",
  )}, NULL, NULL, ${pick(
    DEMO_MODELS.map((m) => q(requested(m))),
    "m",
  )}, CASE WHEN failed THEN NULL ELSE ${pick(
    DEMO_MODELS.map((m) => q(m.provider)),
    "m",
  )} END, CASE WHEN failed THEN NULL ELSE ${pick(
    DEMO_MODELS.map((m) => q(m.model)),
    "m",
  )} END, CASE WHEN failed THEN NULL ELSE 0 END, 'chat',
  CASE WHEN failed THEN 503 ELSE 200 END, CASE WHEN failed THEN 'upstream_error' END, i % 3 = 0, NOT failed,
  CASE WHEN failed THEN 0 ELSE tin END, 0, 0, CASE WHEN failed THEN 0 ELSE tout END, 0,
  CASE WHEN failed THEN 0 WHEN i % 25 = 24 THEN NULL ELSE tin * ${pick(
    DEMO_MODELS.map((m) => Math.round(m.input * 1e6)),
    "m",
  )} + tout * ${pick(
    DEMO_MODELS.map((m) => Math.round(m.output * 1e6)),
    "m",
  )} END, 'BYPASS', 0, 300 + abs(random()) % 2500, 150 + abs(random()) % 600, failed, 0
FROM r;`;
  return [...keys, spend].join("\n");
}

/** Migrates the local D1 under `persist` and writes the demo keys and spend rows into it. */
export function seedSpend(persist, opts) {
  migrate(persist, { quiet: true });
  const file = path.join(persist, "seed-spend.sql");
  writeFileSync(file, seedSql(opts));
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file, "--yes"], {
    quiet: true,
  });
}
