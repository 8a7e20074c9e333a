-- The spend ledger. One row per proxied call, written in batches by the SpendBuffer Durable Objects.
-- Costs are integer pico-USD (10^-12 USD); NULL cost = the model has no price (unpriced, not free).
CREATE TABLE spend (
  request_id          TEXT PRIMARY KEY,      -- idempotent flushes: a row retried after a partial success is ignored
  ts                  INTEGER NOT NULL,      -- call start, ms since the epoch (UTC)
  key_id              TEXT NOT NULL,
  team                TEXT,
  end_user            TEXT,                  -- the request's `user` (OpenAI) / metadata.user_id (Anthropic)
  metadata            TEXT,                  -- JSON object from the x-sluice-metadata header
  model               TEXT NOT NULL,         -- the model name the client asked for
  provider            TEXT,                  -- the provider that served; NULL when none did (failed calls)
  upstream_model      TEXT,
  target_index        INTEGER,               -- which target of the route served: 0 = first, >0 = a fallback
  op                  TEXT NOT NULL,         -- chat | embeddings
  status              INTEGER NOT NULL,
  error_code          TEXT,
  stream              INTEGER NOT NULL,
  completed           INTEGER NOT NULL,      -- 0: failed, or a stream cut before its end
  input_tokens        INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cache_write_tokens  INTEGER NOT NULL,
  output_tokens       INTEGER NOT NULL,
  reasoning_tokens    INTEGER NOT NULL,
  cost_pusd           INTEGER,
  cache               TEXT NOT NULL,         -- MISS | HIT | SEMANTIC | BYPASS
  saved_pusd          INTEGER NOT NULL,      -- what a cache hit saved
  latency_ms          INTEGER NOT NULL,
  ttfb_ms             INTEGER,               -- until the upstream's response headers
  retries             INTEGER NOT NULL,
  rolled              INTEGER NOT NULL DEFAULT 0  -- 1 once counted in spend_daily (set in the same transaction)
);
CREATE INDEX spend_ts ON spend (ts);
CREATE INDEX spend_key_ts ON spend (key_id, ts);
-- Stays tiny: rows are rolled up in the transaction that inserts them.
CREATE INDEX spend_unrolled ON spend (rolled) WHERE rolled = 0;

-- Daily rollups (UTC days): what /admin/spend reads for whole days, and what outlives raw-row retention.
-- Key columns hold '' rather than NULL so that the upsert's conflict target matches.
CREATE TABLE spend_daily (
  day                 TEXT NOT NULL,         -- YYYY-MM-DD (UTC)
  key_id              TEXT NOT NULL,
  team                TEXT NOT NULL,
  model               TEXT NOT NULL,
  provider            TEXT NOT NULL,
  upstream_model      TEXT NOT NULL,
  requests            INTEGER NOT NULL,
  errors              INTEGER NOT NULL,
  unpriced            INTEGER NOT NULL,
  input_tokens        INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cache_write_tokens  INTEGER NOT NULL,
  output_tokens       INTEGER NOT NULL,
  reasoning_tokens    INTEGER NOT NULL,
  cost_pusd           INTEGER NOT NULL,
  saved_pusd          INTEGER NOT NULL,
  PRIMARY KEY (day, key_id, team, model, provider, upstream_model)
) WITHOUT ROWID;
CREATE INDEX spend_daily_key ON spend_daily (key_id, day);
