import * as z from "zod";
import type { LimitSettings } from "../limits/settings";

const count = z.number().int().min(1).max(100_000_000);

/** A budget as clients write it: `{ "usd": 25, "period": "day" | "month" | "total" }` (micro-USD precision). */
export const budgetSchema = z
  .strictObject({
    usd: z.number().positive().max(1_000_000_000),
    period: z.enum(["day", "month", "total"]).default("total"),
  })
  .transform((b) => ({ musd: Math.round(b.usd * 1_000_000), period: b.period }));

/** The limit fields shared by keys, teams and browser tokens (null clears one, on update). */
export const limitFields = {
  rpm: count.nullable().optional(),
  tpm: count.nullable().optional(),
  maxConcurrent: count.max(100_000).nullable().optional(),
  budget: budgetSchema.nullable().optional(),
};

/** An exact web origin: `scheme://host[:port]`, nothing more (no path, no trailing slash, no wildcard). */
export const originSchema = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "https:" || u.protocol === "http:") && u.origin === s;
    } catch {
      return false;
    }
  },
  { message: "must be an exact origin such as https://app.example.com (scheme, host and port only)" },
);

/** Limit settings from validated input (absent = none). */
export function settingsOf(i: {
  rpm?: number | null | undefined;
  tpm?: number | null | undefined;
  maxConcurrent?: number | null | undefined;
  budget?: { musd: number; period: "day" | "month" | "total" } | null | undefined;
}): LimitSettings {
  return {
    rpm: i.rpm ?? null,
    tpm: i.tpm ?? null,
    maxConcurrent: i.maxConcurrent ?? null,
    budget: i.budget ?? null,
  };
}

/** Limit settings as the API shows them (budget in USD). */
export function limitsView(l: LimitSettings) {
  return {
    rpm: l.rpm,
    tpm: l.tpm,
    maxConcurrent: l.maxConcurrent,
    budget: l.budget && { usd: l.budget.musd / 1_000_000, period: l.budget.period },
  };
}
