export type BudgetPeriod = "day" | "month" | "total";

/** Limits a key or a team may carry; null = unlimited. Budgets are integer micro-USD. */
export interface LimitSettings {
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  budget: { musd: number; period: BudgetPeriod } | null;
}

/** Limit columns of a `keys` or `teams` row → LimitSettings. */
export function limitsOf(
  rpm: number | null,
  tpm: number | null,
  maxConcurrent: number | null,
  musd: number | null,
  period: string | null,
): LimitSettings {
  return {
    rpm,
    tpm,
    maxConcurrent,
    budget: musd === null ? null : { musd, period: (period ?? "total") as BudgetPeriod },
  };
}

/** Whether any limit is set. */
export function hasLimits(l: LimitSettings | null): l is LimitSettings {
  return l !== null && (l.rpm !== null || l.tpm !== null || l.maxConcurrent !== null || l.budget !== null);
}
