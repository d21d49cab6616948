// Least-squares lines through soak samples: the slope of RSS, fds or throughput against time.

/**
 * The least-squares line y = intercept + slope·x through the points whose x and y are both finite.
 * Returns { n, slope, intercept, meanX, meanY, r2, slopeError } (slopeError: the slope's standard
 * error, NaN below 3 points); slope and intercept are NaN below 2 points or when every x is the same.
 */
export function fit(xs, ys) {
  const points = []
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) points.push([xs[i], ys[i]])
  }
  const n = points.length
  const meanX = n ? points.reduce((s, [x]) => s + x, 0) / n : NaN
  const meanY = n ? points.reduce((s, [, y]) => s + y, 0) / n : NaN
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2
    sxy += (x - meanX) * (y - meanY)
    syy += (y - meanY) ** 2
  }
  if (n < 2 || sxx === 0) return { n, slope: NaN, intercept: NaN, meanX, meanY, r2: NaN, slopeError: NaN, lag1: NaN, slopeErrorAdjusted: NaN }
  const slope = sxy / sxx
  const intercept = meanY - slope * meanX
  const residual = Math.max(0, syy - slope * sxy)
  const slopeError = n > 2 ? Math.sqrt(residual / (n - 2) / sxx) : NaN
  const lag1 = lag1Correlation(points.sort((a, b) => a[0] - b[0]).map(([x, y]) => y - intercept - slope * x))
  return {
    n,
    slope,
    intercept,
    meanX,
    meanY,
    // a flat, noiseless series is fully explained by its (flat) line
    r2: syy === 0 ? 1 : 1 - residual / syy,
    slopeError,
    lag1,
    slopeErrorAdjusted: slopeError * widening(lag1)
  }
}

/** The lag-1 autocorrelation of a series (0 when it is constant or too short to tell). */
export function lag1Correlation(r) {
  if (r.length < 3) return 0
  const mean = r.reduce((a, b) => a + b, 0) / r.length
  let num = 0
  let den = 0
  for (let i = 0; i < r.length; i++) {
    den += (r[i] - mean) ** 2
    if (i > 0) num += (r[i] - mean) * (r[i - 1] - mean)
  }
  return den === 0 ? 0 : num / den
}

/**
 * How much wider the slope's standard error is when the residuals are autocorrelated (RSS under a GC
 * rises for tens of seconds, then drops: neighbouring samples are not independent). The usual AR(1)
 * widening sqrt((1 + ρ) / (1 − ρ)), with ρ taken in [0, 0.9] (at most ×4.4): a negative ρ does not
 * narrow it, and a ρ near 1 (too few samples to tell a trend from a wave) does not make it infinite.
 */
export const widening = (rho) => {
  const r = Math.min(0.9, Math.max(0, Number.isFinite(rho) ? rho : 0))
  return Math.sqrt((1 + r) / (1 - r))
}

/**
 * The fit of `value(sample)` against time over `samples` (each with `t` in seconds), the slope given
 * per hour, `rise`: how much the fitted line climbs across the window (slope × window length), and
 * `riseError`: the rise's standard error, widened for autocorrelation (what noise alone moves it by).
 */
export function trend(samples, value) {
  const hours = samples.map((s) => s.t / 3600)
  const f = fit(hours, samples.map(value))
  const spanHours = samples.length ? (samples.at(-1).t - samples[0].t) / 3600 : 0
  return { ...f, perHour: f.slope, spanHours, rise: f.slope * spanHours, riseError: f.slopeErrorAdjusted * spanHours }
}
