import { type BudgetPeriod, hasLimits, type LimitSettings, limitsOf } from "../limits/settings";
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
  limits: LimitSettings;
  /** strict: the limit check precedes the upstream call; overlap: they run together. Null: strict with a budget. */
  limitMode: "strict" | "overlap" | null;
  /** Limiter objects the key's allowance is split over (for keys hotter than one object can serve). */
  shards: number;
  /** Origins allowed to call with this key or the browser tokens it mints; null = no browser use. */
  browserOrigins: string[] | null;
  /** The limits of the key's team (from `teams`), when it has a team with limits. */
  teamLimits: LimitSettings | null;
}

/** The fields a key is created or updated with (undefined = not given; null clears, on update). */
export interface KeyInput {
  name?: string | undefined;
  team?: string | null | undefined;
  models?: string[] | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  expiresAt?: string | null | undefined;
  rpm?: number | null | undefined;
  tpm?: number | null | undefined;
  maxConcurrent?: number | null | undefined;
  budget?: { musd: number; period: BudgetPeriod } | null | undefined;
  limitMode?: "strict" | "overlap" | null | undefined;
  shards?: number | undefined;
  browserOrigins?: string[] | null | undefined;
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
  rpm: number | null;
  tpm: number | null;
  max_concurrent: number | null;
  budget_musd: number | null;
  budget_period: string | null;
  limit_mode: string | null;
  shards: number;
  browser_origins: string | null;
  t_name: string | null;
  t_rpm: number | null;
  t_tpm: number | null;
  t_max_concurrent: number | null;
  t_budget_musd: number | null;
  t_budget_period: string | null;
}

const SELECT = `SELECT k.id, k.prefix, k.name, k.team, k.models, k.metadata, k.created_at, k.expires_at, k.revoked_at,
  k.rpm, k.tpm, k.max_concurrent, k.budget_musd, k.budget_period, k.limit_mode, k.shards, k.browser_origins,
  t.name AS t_name, t.rpm AS t_rpm, t.tpm AS t_tpm, t.max_concurrent AS t_max_concurrent,
  t.budget_musd AS t_budget_musd, t.budget_period AS t_budget_period
  FROM keys k LEFT JOIN teams t ON t.name = k.team`;

/** Column ↔ field for the settings a key is created and updated with (JSON columns encoded). */
const FIELDS: [keyof KeyInput, string, (v: never) => unknown][] = [
  ["name", "name", (v: string) => v],
  ["team", "team", (v: string | null) => v],
  ["models", "models", (v: string[] | null) => (v === null ? null : JSON.stringify(v))],
  ["metadata", "metadata", (v: Record<string, unknown>) => JSON.stringify(v)],
  ["expiresAt", "expires_at", (v: string | null) => v],
  ["rpm", "rpm", (v: number | null) => v],
  ["tpm", "tpm", (v: number | null) => v],
  ["maxConcurrent", "max_concurrent", (v: number | null) => v],
  ["limitMode", "limit_mode", (v: string | null) => v],
  ["shards", "shards", (v: number) => v],
  ["browserOrigins", "browser_origins", (v: string[] | null) => (v === null ? null : JSON.stringify(v))],
];

function fromRow(r: Row): KeyRecord {
  const team = limitsOf(r.t_rpm, r.t_tpm, r.t_max_concurrent, r.t_budget_musd, r.t_budget_period);
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
    limits: limitsOf(r.rpm, r.tpm, r.max_concurrent, r.budget_musd, r.budget_period),
    limitMode: r.limit_mode as KeyRecord["limitMode"],
    shards: r.shards,
    browserOrigins: r.browser_origins === null ? null : (JSON.parse(r.browser_origins) as string[]),
    teamLimits: r.t_name !== null && hasLimits(team) ? team : null,
  };
}

/** The secret's display prefix. */
const prefixOf = (secret: string) => `${secret.slice(0, KEY_PREFIX.length + 4)}…`;

/** D1 access for keys: the only module that writes SQL about them. */
export class KeyStore {
  constructor(private readonly db: D1Database) {}

  /** Creates a key; the returned `secret` exists only in this return value. */
  async create(
    input: KeyInput & { name: string },
    now = new Date(),
  ): Promise<{ record: KeyRecord; secret: string }> {
    const secret = newSecret();
    const id = `key_${randomToken(20)}`;
    await this.db
      .prepare("INSERT INTO keys (id, hash, prefix, name, metadata, created_at) VALUES (?, ?, ?, ?, '{}', ?)")
      .bind(id, await hashSecret(secret), prefixOf(secret), input.name, now.toISOString())
      .run();
    const record = await this.update(id, input);
    if (!record) throw new Error(`key ${id} vanished after insert`);
    return { record, secret };
  }

  /** Changes the given settings (null clears one); returns the record, or null when no such key exists. */
  async update(id: string, input: KeyInput): Promise<KeyRecord | null> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [field, column, encode] of FIELDS) {
      const v = input[field];
      if (v === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(encode(v as never));
    }
    if (input.budget !== undefined) {
      sets.push("budget_musd = ?", "budget_period = ?");
      params.push(input.budget?.musd ?? null, input.budget?.period ?? null);
    }
    if (sets.length > 0) {
      await this.db
        .prepare(`UPDATE keys SET ${sets.join(", ")} WHERE id = ?`)
        .bind(...params, id)
        .run();
    }
    return this.byId(id);
  }

  /** Replaces the secret, keeping the id and settings; the old secret stops working. Null when no such key. */
  async rotate(id: string): Promise<{ record: KeyRecord; secret: string } | null> {
    const secret = newSecret();
    const r = await this.db
      .prepare("UPDATE keys SET hash = ?, prefix = ? WHERE id = ? AND revoked_at IS NULL")
      .bind(await hashSecret(secret), prefixOf(secret), id)
      .run();
    if (r.meta.changes === 0) return null;
    const record = await this.byId(id);
    return record ? { record, secret } : null;
  }

  async byHash(hash: string): Promise<KeyRecord | null> {
    const row = await this.db.prepare(`${SELECT} WHERE k.hash = ?`).bind(hash).first<Row>();
    return row ? fromRow(row) : null;
  }

  async byId(id: string): Promise<KeyRecord | null> {
    const row = await this.db.prepare(`${SELECT} WHERE k.id = ?`).bind(id).first<Row>();
    return row ? fromRow(row) : null;
  }

  /** Keys newest first, a page at a time (`after` is the last id of the previous page). */
  async list(opts: { limit: number; after?: string | undefined }): Promise<KeyRecord[]> {
    const stmt = opts.after
      ? this.db
          .prepare(
            `${SELECT} WHERE (k.created_at, k.id) < (SELECT created_at, id FROM keys WHERE id = ?) ORDER BY k.created_at DESC, k.id DESC LIMIT ?`,
          )
          .bind(opts.after, opts.limit)
      : this.db.prepare(`${SELECT} ORDER BY k.created_at DESC, k.id DESC LIMIT ?`).bind(opts.limit);
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

  /** Id, name and display prefix of the newest `limit` keys (the dashboard's key names). */
  async names(limit = 500): Promise<{ id: string; name: string; prefix: string }[]> {
    const { results } = await this.db
      .prepare("SELECT id, name, prefix FROM keys ORDER BY created_at DESC LIMIT ?")
      .bind(limit)
      .all<{ id: string; name: string; prefix: string }>();
    return results;
  }

  /** Every origin some active key allows (CORS preflights are answered for these only). */
  async browserOrigins(): Promise<string[]> {
    const { results } = await this.db
      .prepare(
        "SELECT DISTINCT j.value AS origin FROM keys k, json_each(k.browser_origins) j WHERE k.browser_origins IS NOT NULL AND k.revoked_at IS NULL",
      )
      .all<{ origin: string }>();
    return results.map((r) => r.origin);
  }
}
