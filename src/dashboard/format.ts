// Numbers as the dashboard shows them (money exact in storage, rounded for people here).

/** Pico-USD for people: `$12.34`, `$0.0042`, `$0.00`; null is "unpriced", never $0. */
export function usd(p: bigint | number | null): string {
  if (p === null) return "unpriced";
  const v = Number(p) / 1e12;
  if (v === 0) return "$0.00";
  if (Math.abs(v) >= 0.01) {
    return `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  }
  return `$${v.toPrecision(2).replace(/0+$/, "")}`;
}

export const int = (n: number) => n.toLocaleString("en-US");
export const pct = (part: number, whole: number) =>
  whole === 0 ? "—" : `${((part / whole) * 100).toFixed(1)}%`;
