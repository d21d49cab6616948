// Whether a transport's soak passed: the slopes after the warm-up (flat RSS, flat fds, no falling
// throughput) and the counts that must be zero (bytes lost, connection errors, dropped holders,
// reconnects). Pure: from one transport's result (scripts/soak/run.mjs) to a list of named checks.
import { trend } from "./slope.mjs"

/**
 * The limits, and why each is what it is.
 * - RSS: the fitted rise across the window at most 5 MB/h × its length and at most 10 % of the mean
 *   RSS — but never less than what the RSS's own wander can fake. Measured here under the soak's load,
 *   each process's RSS rises and falls by up to ±8 MB over 40–120 s as the GC heap fills and is
 *   collected, and a window shorter than such a cycle fits the ramp as a clean slope (rises of ±10 MB
 *   in 48 s windows of real runs, at 8σ by the fit's own error; a ±8 MB wave can fake 20 MB in 48 s).
 *   So the floor is `rssWanderMB` (20 MB) for windows up to `rssWanderMinutes` (2 min), and shrinks as
 *   sqrt(2 min / window) beyond, as a longer window averages over more cycles: 12.6 MB at 5 min,
 *   5.3 MB at 28 min (≈ 11 MB/h). A 1-minute run thus catches only gross leaks (> 20 MB in 48 s: ≥ 4 KiB
 *   per short connection at 100/s); the 5 MB/h limit itself binds from ~50-minute windows, and past
 *   ~1.7 h 10 % of a mean of ~85 MB is the tighter.
 * - fds: the line is fitted to each sample's *floor* (the fewest fds read in the `fdFloorSeconds`
 *   before it, within the window), and may rise by at most `fdRise` fds across the window, whatever its
 *   length. fds are counted exactly, but the pooled transports keep the channels a burst opened (a
 *   stall of the shared machine piles up short connections) for 30–40 s before trimming them back to
 *   the pool size: seen here as steps of +30 fds that last ~40 s. A floor over 45 s does not see such a
 *   step, and rises with a leak 45 s later. A leak of one fd per thousand connections at 100/s lifts it
 *   by 18 in 3 minutes; smaller ones, and any leak in a short run, are caught after the load (below).
 * - throughput (bulk MiB/s, short connections/s): the fitted line may not fall by more than `decline`
 *   of the mean across the window. A mean below `kept` of the asked rate, and short connections not
 *   started because 512 were still in flight, are notes, not failures: on a shared 2-core machine they
 *   measure the machine's other load as much as the tunnel (the errors such a stall causes do fail).
 * - after the load: every tunnel process back to at most `fdReturn` fds more than before it began
 *   (within 60 s: scripts/soak/run.mjs waits for the pool's trimming). Exact, and the check that
 *   catches a leak of any size that a run's connections reach.
 */
export const LIMITS = {
  rssMBPerHour: 5,
  rssShareOfMean: 0.1,
  rssWanderMB: 20,
  rssWanderMinutes: 2,
  fdRise: 8,
  fdFloorSeconds: 45,
  decline: 0.1,
  kept: 0.9, // a note only
  fdReturn: 2
}

const SIDES = ["server", "client"]
const sum = (tally) => Object.values(tally ?? {}).reduce((a, b) => a + b, 0)
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")
const signed = (x, digits = 1) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)}` : "n/a")
const minutes = (hours) => `${fmt(hours * 60, 1)} min`
const tallyText = (tally) => Object.entries(tally ?? {}).map(([why, n]) => `${n} ${why}`).join(", ")

/** The samples the slopes are fitted to: those taken at or after the warm-up (t in seconds of load). */
export const windowOf = (samples, warmupS) => samples.filter((s) => s.t >= warmupS - 1e-9)

/** The RSS rise that wander alone can fake over a window of `spanHours`: `rssWanderMB`, less over many GC cycles. */
export const rssFloorMB = (spanHours, limits = LIMITS) =>
  limits.rssWanderMB * Math.sqrt(Math.min(1, limits.rssWanderMinutes / 60 / spanHours))

/**
 * The RSS check of one side: the fitted rise across the window within the larger of the wander floor
 * and the flatness budget (the smaller of `rssMBPerHour` × window and `rssShareOfMean` × mean).
 */
export function rssCheck(name, tr, limits = LIMITS) {
  const floor = rssFloorMB(tr.spanHours, limits)
  const budget = Math.min(limits.rssMBPerHour * tr.spanHours, limits.rssShareOfMean * tr.meanY)
  const riseLimit = Math.max(floor, budget)
  const pass = Number.isFinite(tr.rise) && tr.rise <= riseLimit
  const why = floor >= budget
    ? `the wander floor of a ${minutes(tr.spanHours)} window`
    : budget === limits.rssMBPerHour * tr.spanHours ? `${limits.rssMBPerHour} MB/h` : `10 % of the mean ${fmt(tr.meanY)} MB`
  return {
    name,
    pass,
    value: tr.perHour,
    unit: "MB/h",
    detail: `${signed(tr.perHour)} MB/h: fitted rise ${signed(tr.rise)} MB over ${minutes(tr.spanHours)} ` +
      `(limit ${fmt(riseLimit)} MB = ${fmt(riseLimit / tr.spanHours)} MB/h here, ${why}); mean ${fmt(tr.meanY)} MB`
  }
}

/**
 * Each sample with its fd floor: the fewest fds `side` had in the `seconds` before it (samples of the
 * window only, so the floor at the window's start is that sample's own count).
 */
export function fdFloor(window, side, seconds) {
  return window.map((s) => {
    let floor = s[side].fds
    for (const p of window) if (p.t <= s.t && p.t >= s.t - seconds - 1e-9 && p[side].fds < floor) floor = p[side].fds
    return { t: s.t, fds: floor }
  })
}

/** The fd check of one side: the line fitted to the fd floor may rise by at most `fdRise` fds across the window. */
export function fdCheck(name, tr, limits = LIMITS) {
  const pass = Number.isFinite(tr.rise) && tr.rise <= limits.fdRise
  return {
    name,
    pass,
    value: tr.perHour,
    unit: "fds/h",
    detail: `fd floor ${signed(tr.perHour)} fds/h, fitted rise ${signed(tr.rise)} fds over ${minutes(tr.spanHours)} (limit ${limits.fdRise}); mean floor ${fmt(tr.meanY, 0)} fds`
  }
}

/** A throughput check: no fall of more than `decline` of the mean across the window. */
export function throughputCheck(name, tr, unit, limits = LIMITS) {
  const change = tr.rise / tr.meanY
  return {
    name,
    pass: Number.isFinite(change) && change >= -limits.decline,
    value: tr.perHour,
    unit: `${unit}/h`,
    detail: `fitted change ${signed(100 * change)} % across the window (limit -${limits.decline * 100} %); mean ${fmt(tr.meanY)} ${unit}`
  }
}

/** A note (never a failure) when the mean rate fell short of `kept` of the asked one. */
const keptNote = (name, tr, asked, unit, limits) =>
  asked > 0 && !(tr.meanY >= limits.kept * asked)
    ? [`${name}: mean ${fmt(tr.meanY)} ${unit}, ${fmt((100 * tr.meanY) / asked, 0)} % of the asked ${fmt(asked)}: the machine or the tunnel did not keep up`]
    : []

const countCheck = (name, n, detail) => ({ name, pass: n === 0, value: n, unit: "", detail: n === 0 ? "0" : `${n}: ${detail}` })

/**
 * Every check of one transport's soak `result`, given the warm-up and the asked load
 * ({ connsPerSecond, bulkBytesPerSecond (0: unbounded), holders }). Returns
 * { warmupS, window: { from, to, samples }, trends, checks, notes, pass, failed: [names of failed checks] }.
 */
export function judge(result, { warmupS, load }, limits = LIMITS) {
  const window = windowOf(result.samples, warmupS)
  const rate = window.filter((s) => s.t > 0) // the sample at load start has no interval behind it
  const trends = {}
  for (const side of SIDES) {
    trends[`${side}Rss`] = trend(window, (s) => s[side].rssMB)
    trends[`${side}Fds`] = trend(window, (s) => s[side].fds)
    trends[`${side}FdFloor`] = trend(fdFloor(window, side, limits.fdFloorSeconds), (s) => s.fds)
    trends[`${side}Cpu`] = trend(rate, (s) => s[side].cpuPct)
  }
  trends.bulk = trend(rate, (s) => s.bulkMiBps)
  trends.conns = trend(rate, (s) => s.connsPerS)

  const checks = []
  const notes = []
  if (result.error) checks.push({ name: "run", pass: false, value: NaN, unit: "", detail: result.error })
  if (window.length >= 2) {
    for (const side of SIDES) checks.push(rssCheck(`${side} RSS slope`, trends[`${side}Rss`], limits))
    for (const side of SIDES) checks.push(fdCheck(`${side} fd slope`, trends[`${side}FdFloor`], limits))
    checks.push(throughputCheck("bulk throughput", trends.bulk, "MiB/s", limits))
    notes.push(...keptNote("bulk throughput", trends.bulk, load.bulkBytesPerSecond / 2 ** 20, "MiB/s", limits))
    if (load.connsPerSecond > 0) {
      checks.push(throughputCheck("short connection rate", trends.conns, "conn/s", limits))
      notes.push(...keptNote("short connection rate", trends.conns, load.connsPerSecond, "conn/s", limits))
    }
  } else if (!result.error) {
    checks.push({ name: "samples", pass: false, value: window.length, unit: "", detail: `${window.length} samples after the warm-up; nothing to fit` })
  }

  const f = result.final
  if (f) {
    checks.push(countCheck("bytes lost", f.bulk.lostBytes, `of ${f.bulk.sentBytes} sent in ${f.bulk.transfers} transfers (${f.bulk.corrupt} corrupt)`))
    checks.push(countCheck("bulk errors", sum(f.bulk.errors), tallyText(f.bulk.errors)))
    checks.push(countCheck("short connection errors", sum(f.short.errors), `of ${f.short.started}: ${tallyText(f.short.errors)}`))
    if (f.short.skipped) notes.push(`${f.short.skipped} short connections not started: 512 were still in flight`)
    const holderTrouble = f.holders.openFailed + f.holders.dropped + sum(f.holders.touchErrors)
    checks.push(countCheck("holder errors", holderTrouble,
      `${f.holders.openFailed} of ${load.holders} did not open, ${f.holders.dropped} dropped, touches: ${tallyText(f.holders.touchErrors) || "fine"}`))
  }
  const reconnects = result.logs.find((l) => l.side === "client")?.reconnects ?? 0
  checks.push(countCheck("reconnects", reconnects, "the client lost its session and connected again"))
  if (result.before && result.after) {
    for (const side of SIDES) {
      const extra = result.after[side].fds - result.before[side].fds
      checks.push({
        name: `${side} fds after the load`,
        pass: extra <= limits.fdReturn,
        value: extra,
        unit: "fds",
        detail: `${result.before[side].fds} before the load, ${result.after[side].fds} after it ` +
          `${result.after.returnMs == null ? "and still after 60 s" : `(back in ${fmt(result.after.returnMs / 1000)} s)`} (limit +${limits.fdReturn})`
      })
    }
  }
  if (result.shutdown) {
    for (const side of SIDES) {
      const code = result.shutdown[side]
      checks.push({ name: `${side} exit on SIGTERM`, pass: code === 0, value: code, unit: "", detail: `exit ${code} (expected 0)` })
    }
  }
  const failed = checks.filter((c) => !c.pass).map((c) => c.name)
  return {
    warmupS,
    window: { from: window[0]?.t ?? NaN, to: window.at(-1)?.t ?? NaN, samples: window.length },
    trends,
    checks,
    notes,
    pass: failed.length === 0,
    failed
  }
}
