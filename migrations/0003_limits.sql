-- Per-key limits, browser use and hot-key shards; team limits. Counters live in Limiter Durable Objects, not here.
ALTER TABLE keys ADD COLUMN rpm INTEGER;              -- requests per minute, NULL = unlimited
ALTER TABLE keys ADD COLUMN tpm INTEGER;              -- tokens per minute (input estimate + max output), NULL = unlimited
ALTER TABLE keys ADD COLUMN max_concurrent INTEGER;   -- requests in flight, NULL = unlimited
ALTER TABLE keys ADD COLUMN budget_musd INTEGER;      -- budget in micro-USD, NULL = none
ALTER TABLE keys ADD COLUMN budget_period TEXT;       -- day | month | total (UTC)
ALTER TABLE keys ADD COLUMN limit_mode TEXT;          -- strict | overlap; NULL = strict with a budget, else overlap
ALTER TABLE keys ADD COLUMN shards INTEGER NOT NULL DEFAULT 1;  -- limiter objects the key's allowance is split over
ALTER TABLE keys ADD COLUMN browser_origins TEXT;     -- JSON array of origins allowed to use the key / its tokens; NULL = none

CREATE TABLE teams (
  name           TEXT PRIMARY KEY,
  rpm            INTEGER,
  tpm            INTEGER,
  max_concurrent INTEGER,
  budget_musd    INTEGER,
  budget_period  TEXT,
  updated_at     TEXT NOT NULL
);
