-- The semantic cache's decisions worth counting per alias: shadow would-be hits, and the outcome of each
-- verified hit (verified / false_hit), from which the dashboard reports the measured false-hit rate.
CREATE TABLE cache_events (
  ts INTEGER NOT NULL,
  alias TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('shadow', 'verified', 'false_hit')),
  score REAL NOT NULL
);
CREATE INDEX cache_events_alias_ts ON cache_events (alias, ts);
