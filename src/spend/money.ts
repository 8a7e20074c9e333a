/**
 * Money as the gateway stores it: integer pico-USD (10⁻¹² USD), exact. Every USD string the gateway writes
 * (JSON, CSV, headers, limit messages) comes from here; the dashboard's display formatting sits on top.
 */

/** Pico-USD as a decimal USD string, exactly (`1234567` → `"0.000001234567"`); bigint for sums past 2⁵³. */
export function formatUsd(picoUsd: number | bigint): string {
  const s = String(typeof picoUsd === "bigint" ? picoUsd : Math.round(picoUsd)).padStart(13, "0");
  const whole = s.slice(0, -12);
  const frac = s.slice(-12).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

/** Non-negative pico-USD rounded half up to `decimals` (0–12) places, exactly: `usdRounded(5_000_000_000n, 2)` → `"0.01"`. */
export function usdRounded(picoUsd: bigint, decimals: number): string {
  const unit = 10n ** BigInt(12 - decimals);
  const units = (picoUsd + unit / 2n) / unit;
  if (decimals === 0) return units.toString();
  const s = units.toString().padStart(decimals + 1, "0");
  return `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}
