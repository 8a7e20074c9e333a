-- Sluice keys. The secret is never stored: only its SHA-256 (hex) and a short display prefix.
CREATE TABLE keys (
  id          TEXT PRIMARY KEY,
  hash        TEXT NOT NULL UNIQUE,
  prefix      TEXT NOT NULL,
  name        TEXT NOT NULL,
  team        TEXT,
  models      TEXT,            -- JSON array of allowed model patterns, NULL = all
  metadata    TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL,
  expires_at  TEXT,
  revoked_at  TEXT
);
CREATE INDEX keys_team ON keys (team);
