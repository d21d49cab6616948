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

/**
 * Measures every endpoint `runs` times, interleaved (e1 e2 e3, e1 e2 e3, …) so drift on a shared machine
 * affects them alike. A failed measurement is reported with `fail` and recorded as `failed(error)`.
 * Returns `{ [endpoint name]: [result, …] }`; `describe(result)` is logged after each round.
 */
export async function interleaved({ endpoints, runs, measure, failed, fail, label, describe }) {
  const results = Object.fromEntries(endpoints.map((e) => [e.name, []]))
  for (let rep = 0; rep < runs; rep++) {
    for (const e of endpoints) {
      try {
        results[e.name].push(await measure(e))
      } catch (err) {
        fail(`${label} via ${e.name}: ${err.message}`)
        results[e.name].push({ ...failed, error: err.message })
      }
    }
    const summary = endpoints.map((e) => `${e.name} ${describe(results[e.name].at(-1))}`).join(", ")
    console.error(`bench: ${label}, run ${rep + 1}/${runs}: ${summary}`)
  }
  return results
}
