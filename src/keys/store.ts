import { hashSecret, KEY_PREFIX, newSecret, randomToken } from "./secret";

/** A Sluice key as the gateway sees it; the secret itself is never kept. */
export interface KeyRecord {
  id: string;
  name: string;
  team: string | null;
  /** Allowed model patterns (`gpt-*`); null allows every model. */
  models: string[] | null;
  metadata: Record<string, unknown>;
  /** `sk-sluice-AbCd…` — enough to recognise a key in a list. */
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface NewKey {
  name: string;
  team?: string | undefined;
  models?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
  expiresAt?: string | undefined;
}

interface Row {
  id: string;
  prefix: string;
  name: string;
  team: string | null;
  models: string | null;
  metadata: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = "id, prefix, name, team, models, metadata, created_at, expires_at, revoked_at";

function fromRow(r: Row): KeyRecord {
  return {
    id: r.id,
    name: r.name,
    team: r.team,
    models: r.models === null ? null : (JSON.parse(r.models) as string[]),
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    prefix: r.prefix,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** D1 access for keys: the only module that writes SQL about them. */
export class KeyStore {
  constructor(private readonly db: D1Database) {}

  /** Creates a key; the returned `secret` exists only in this return value. */
  async create(input: NewKey, now = new Date()): Promise<{ record: KeyRecord; secret: string }> {
    const secret = newSecret();
    const record: KeyRecord = {
      id: `key_${randomToken(20)}`,
      name: input.name,
      team: input.team ?? null,
      models: input.models ?? null,
      metadata: input.metadata ?? {},
      prefix: `${secret.slice(0, KEY_PREFIX.length + 4)}…`,
      createdAt: now.toISOString(),
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
    };
    await this.db
      .prepare(
        "INSERT INTO keys (id, hash, prefix, name, team, models, metadata, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(
        record.id,
        await hashSecret(secret),
        record.prefix,
        record.name,
        record.team,
        record.models === null ? null : JSON.stringify(record.models),
        JSON.stringify(record.metadata),
        record.createdAt,
        record.expiresAt,
      )
      .run();
    return { record, secret };
  }

  async byHash(hash: string): Promise<KeyRecord | null> {
    const row = await this.db.prepare(`SELECT ${COLUMNS} FROM keys WHERE hash = ?`).bind(hash).first<Row>();
    return row ? fromRow(row) : null;
  }

  async byId(id: string): Promise<KeyRecord | null> {
    const row = await this.db.prepare(`SELECT ${COLUMNS} FROM keys WHERE id = ?`).bind(id).first<Row>();
    return row ? fromRow(row) : null;
  }

  /** Keys newest first, a page at a time (`after` is the last id of the previous page). */
  async list(opts: { limit: number; after?: string | undefined }): Promise<KeyRecord[]> {
    const stmt = opts.after
      ? this.db
          .prepare(
            `SELECT ${COLUMNS} FROM keys WHERE (created_at, id) < (SELECT created_at, id FROM keys WHERE id = ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
          )
          .bind(opts.after, opts.limit)
      : this.db
          .prepare(`SELECT ${COLUMNS} FROM keys ORDER BY created_at DESC, id DESC LIMIT ?`)
          .bind(opts.limit);
    const { results } = await stmt.all<Row>();
    return results.map(fromRow);
  }

  /** Marks a key revoked; returns the record, or null when no such key exists. Revoking twice keeps the first time. */
  async revoke(id: string, now = new Date()): Promise<KeyRecord | null> {
    await this.db
      .prepare("UPDATE keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
      .bind(now.toISOString(), id)
      .run();
    return this.byId(id);
  }
}
