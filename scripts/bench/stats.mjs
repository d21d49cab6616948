// Small numeric helpers.

/** Median of the finite numbers in `xs` (NaN when there are none). */
export function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = Math.floor(v.length / 2)
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** `a / b`, or NaN when either is missing or b is 0. */
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN)

/** Rounds to `digits` significant-ish decimals for JSON (keeps files readable). */
export const round = (x, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)
