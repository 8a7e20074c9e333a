import { type LimitSettings, limitsOf } from "./settings";

interface TeamRow {
  name: string;
  rpm: number | null;
  tpm: number | null;
  max_concurrent: number | null;
  budget_musd: number | null;
  budget_period: string | null;
  updated_at: string;
}

export interface TeamRecord {
  name: string;
  limits: LimitSettings;
  updatedAt: string;
}

const teamOf = (r: TeamRow): TeamRecord => ({
  name: r.name,
  limits: limitsOf(r.rpm, r.tpm, r.max_concurrent, r.budget_musd, r.budget_period),
  updatedAt: r.updated_at,
});

/** D1 access for team limits (a team's budget and rates cap all its keys together). */
export class TeamStore {
  constructor(private readonly db: D1Database) {}

  async put(name: string, l: LimitSettings, now = new Date()): Promise<TeamRecord> {
    await this.db
      .prepare(
        "INSERT OR REPLACE INTO teams (name, rpm, tpm, max_concurrent, budget_musd, budget_period, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(
        name,
        l.rpm,
        l.tpm,
        l.maxConcurrent,
        l.budget?.musd ?? null,
        l.budget?.period ?? null,
        now.toISOString(),
      )
      .run();
    return { name, limits: l, updatedAt: now.toISOString() };
  }

  async get(name: string): Promise<TeamRecord | null> {
    const r = await this.db.prepare("SELECT * FROM teams WHERE name = ?").bind(name).first<TeamRow>();
    return r ? teamOf(r) : null;
  }

  async list(): Promise<TeamRecord[]> {
    const { results } = await this.db.prepare("SELECT * FROM teams ORDER BY name LIMIT 1000").all<TeamRow>();
    return results.map(teamOf);
  }

  async remove(name: string): Promise<boolean> {
    const r = await this.db.prepare("DELETE FROM teams WHERE name = ?").bind(name).run();
    return r.meta.changes > 0;
  }
}
