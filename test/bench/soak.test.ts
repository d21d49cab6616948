/**
 * The soak's maths and verdict (scripts/soak/): least-squares slopes, the warm-up and sample-count
 * rules of the command line, and what counts as flat — a GC-like RSS wave and the pooled transports'
 * temporary surplus of channels pass, a leak of memory or fds, a falling throughput and any lost byte
 * or error fail, each naming its check. Synthetic series, no processes: the soak itself runs in CI.
 */
import { assert, describe, it } from "@effect/vitest"
// @ts-expect-error: a plain JavaScript module of the soak, without types
import { defaultWarmup, MIN_WINDOW_SAMPLES, parse } from "../../scripts/soak/cli.mjs"
// @ts-expect-error: a plain JavaScript module of the soak, without types
import { fit, lag1Correlation, trend, widening } from "../../scripts/soak/slope.mjs"
// @ts-expect-error: a plain JavaScript module of the soak, without types
import { fdCheck, fdFloor, judge, LIMITS, rssCheck, rssFloorMB } from "../../scripts/soak/verdict.mjs"

interface Side {
  rssMB: number
  anonMB: number
  fds: number
  cpuPct: number
}
interface Sample {
  t: number
  server: Side
  client: Side
  bulkMiBps: number
  connsPerS: number
  latencyMs: { p99: number }
  held: number
  skipped: number
  lostBytes: number
  errors: number
}
interface Series {
  rss?: (t: number) => number
  fds?: (t: number) => number
  bulk?: (t: number) => number
}

/** Samples every `interval` s for `seconds`, both sides alike, from the given curves (flat by default). */
const samples = (seconds: number, interval: number, series: Series = {}): Array<Sample> =>
  Array.from({ length: Math.floor(seconds / interval) + 1 }, (_, i) => {
    const t = i * interval
    const side = { rssMB: series.rss?.(t) ?? 85, anonMB: 40, fds: series.fds?.(t) ?? 430, cpuPct: 10 }
    return {
      t,
      server: side,
      client: { ...side },
      bulkMiBps: series.bulk?.(t) ?? 16,
      connsPerS: 100,
      latencyMs: { p99: 5 },
      held: 200,
      skipped: 0,
      lostBytes: 0,
      errors: 0
    }
  })

/** The GC-like wave measured under the soak's load: ±8 MB around 85 MB, a 50 s period. */
const wave = (t: number) => 85 + 8 * Math.sin((2 * Math.PI * t) / 50)

const finalCounters = () => ({
  bulk: { sentBytes: 1e9, echoedBytes: 1e9, transfers: 4, verified: 4, lostBytes: 0, corrupt: 0, errors: {} as Record<string, number> },
  short: { started: 6000, ok: 6000, skipped: 0, inFlight: 0, errors: {} as Record<string, number> },
  holders: { opened: 200, openFailed: 0, open: 200, dropped: 0, touches: 600, touchErrors: {} as Record<string, number> }
})

const result = (s: Array<Sample>) => ({
  transport: "tcp",
  samples: s,
  final: finalCounters(),
  before: { server: { fds: 18 }, client: { fds: 16 } },
  after: { server: { fds: 18 }, client: { fds: 16 }, returnMs: 35_000 },
  logs: [{ side: "server", reconnects: 0 }, { side: "client", reconnects: 0 }],
  shutdown: { server: 0, client: 0 },
  error: undefined as string | undefined
})

const load = { connsPerSecond: 100, bulkBytesPerSecond: 16 * 2 ** 20, holders: 200 }
const failedOf = (r: ReturnType<typeof result>, warmupS = 12) => judge(r, { warmupS, load }).failed as Array<string>

describe("soak slopes", () => {
  it("fits a line exactly, leaves out non-finite points, and says NaN when there is no line", () => {
    const f = fit([0, 1, 2, 3, NaN, 5], [1, 3, 5, 7, 100, Infinity])
    assert.strictEqual(f.n, 4)
    assert.closeTo(f.slope, 2, 1e-12)
    assert.closeTo(f.intercept, 1, 1e-12)
    assert.closeTo(f.r2, 1, 1e-12)
    assert.closeTo(f.slopeError, 0, 1e-9)
    const flat = fit([0, 1, 2], [4, 4, 4])
    assert.strictEqual(flat.slope, 0)
    assert.strictEqual(flat.r2, 1)
    assert.isNaN(fit([1], [1]).slope)
    assert.isNaN(fit([2, 2, 2], [1, 2, 3]).slope, "every x the same")
  })

  it("gives a known slope of noisy points within its standard error", () => {
    // deterministic "noise": a fixed pattern that sums to zero over each 4 points
    const xs = Array.from({ length: 40 }, (_, i) => i)
    const ys = xs.map((x) => 10 + 0.5 * x + [0.3, -0.3, -0.3, 0.3][x % 4]!)
    const f = fit(xs, ys)
    assert.closeTo(f.slope, 0.5, 3 * f.slopeError)
    assert.isAbove(f.slopeError, 0)
  })

  it("widens the slope's error for autocorrelated residuals, never narrows it, and caps the widening", () => {
    assert.isBelow(lag1Correlation([1, -1, 1, -1, 1, -1]), 0)
    assert.isAbove(lag1Correlation(Array.from({ length: 40 }, (_, i) => Math.sin(i / 5))), 0.8)
    assert.strictEqual(lag1Correlation([3, 3, 3]), 0)
    assert.strictEqual(widening(-0.5), 1)
    assert.closeTo(widening(0.6), 2, 1e-12)
    assert.closeTo(widening(0.99), Math.sqrt(19), 1e-12)
  })

  it("gives the trend per hour and the fitted rise across the window", () => {
    const tr = trend(samples(600, 5, { rss: (t) => 80 + t / 60 }), (s: Sample) => s.server.rssMB)
    assert.closeTo(tr.perHour, 60, 1e-9)
    assert.closeTo(tr.spanHours, 600 / 3600, 1e-12)
    assert.closeTo(tr.rise, 10, 1e-9)
    assert.closeTo(tr.meanY, 85, 1e-9)
  })
})

describe("soak verdict: RSS", () => {
  const rssOf = (s: Array<Sample>) => rssCheck("server RSS slope", trend(s, (x: Sample) => x.server.rssMB))

  it("does not take the GC wave for a leak, in a 48 s window at any phase or in 30 minutes", () => {
    for (let phase = 0; phase < 50; phase += 5) {
      const window = samples(60, 2, { rss: (t) => wave(t + phase) }).filter((s) => s.t >= 12)
      assert.isTrue(rssOf(window).pass, `phase ${phase} s`)
    }
    assert.isTrue(rssOf(samples(30 * 60, 5, { rss: wave }).filter((s) => s.t >= 120)).pass)
  })

  it("fails a gross leak in a 1-minute run, naming the slope", () => {
    // 40 MB a minute, on top of the wave
    const r = result(samples(60, 2, { rss: (t) => wave(t) + (40 * t) / 60 }))
    const failed = failedOf(r)
    assert.includeMembers(failed, ["server RSS slope", "client RSS slope"])
    const check = judge(r, { warmupS: 12, load }).checks.find((c: { name: string }) => c.name === "server RSS slope")
    assert.match(check.detail, /MB\/h: fitted rise \+\d+\.\d MB over 0\.8 min \(limit 20\.0 MB/)
  })

  it("holds a 1-hour window to 5 MB/h and longer ones to 10 % of the mean", () => {
    const hour = (perHour: number) => rssOf(samples(3600, 10, { rss: (t) => 85 + (perHour * t) / 3600 }))
    assert.isTrue(hour(4.9).pass)
    assert.isFalse(hour(5.1).pass)
    // half an hour resolves about 11 MB/h
    assert.isTrue(rssOf(samples(1680, 5, { rss: (t) => 85 + (10 * t) / 3600 })).pass)
    assert.isFalse(rssOf(samples(1680, 5, { rss: (t) => 85 + (12 * t) / 3600 })).pass)
    // 4 h at 3 MB/h: 12 MB of rise, over 10 % of ~91 MB though under 5 MB/h
    assert.isFalse(rssOf(samples(4 * 3600, 30, { rss: (t) => 85 + (3 * t) / 3600 })).pass)
  })

  it("lowers the wander floor as the window spans more GC cycles", () => {
    assert.strictEqual(rssFloorMB(48 / 3600), LIMITS.rssWanderMB)
    assert.strictEqual(rssFloorMB(2 / 60), LIMITS.rssWanderMB)
    assert.closeTo(rssFloorMB(8 / 60), LIMITS.rssWanderMB / 2, 1e-12)
  })
})

describe("soak verdict: fds", () => {
  const fdsOf = (s: Array<Sample>) => fdCheck("server fd slope", trend(fdFloor(s, "server", LIMITS.fdFloorSeconds), (x: { fds: number }) => x.fds))

  it("passes the pooled transports' surplus after a burst: +30 fds for 40 s", () => {
    const burst = (t: number) => 430 + (t >= 120 && t < 160 ? 30 : 0) + (t >= 250 && t < 290 ? 30 : 0)
    const window = samples(300, 5, { fds: burst }).filter((s) => s.t >= 60)
    assert.isTrue(fdsOf(window).pass)
    assert.isAbove(trend(window, (s: Sample) => s.server.fds).rise, LIMITS.fdRise, "the raw fit alone would have failed it")
  })

  it("fails a leak of one fd per 300 connections (one every 3 s) over 10 minutes", () => {
    const check = fdsOf(samples(600, 5, { fds: (t) => 430 + Math.floor(t / 3) }).filter((s) => s.t >= 120))
    assert.isFalse(check.pass)
    assert.match(check.detail, /^fd floor \+\d+\.\d fds\/h, fitted rise \+\d+\.\d fds/)
  })

  it("fails fds that do not come back after the load, whatever the slopes", () => {
    const r = result(samples(60, 2))
    r.after = { server: { fds: 18 + LIMITS.fdReturn + 1 }, client: { fds: 16 }, returnMs: null as unknown as number }
    assert.deepStrictEqual(failedOf(r), ["server fds after the load"])
    const check = judge(r, { warmupS: 12, load }).checks.find((c: { name: string }) => c.name === "server fds after the load")
    assert.match(check.detail, /18 before the load, 21 after it and still after 60 s/)
  })
})

describe("soak verdict: traffic and counts", () => {
  it("passes a flat run of every kind of traffic", () => {
    const v = judge(result(samples(60, 2, { rss: wave })), { warmupS: 12, load })
    assert.isTrue(v.pass, JSON.stringify(v.failed))
    assert.deepStrictEqual(v.notes, [])
    assert.strictEqual(v.window.from, 12)
    assert.strictEqual(v.window.samples, 25)
  })

  it("fails a throughput that falls by more than 10 % across the window", () => {
    assert.deepStrictEqual(failedOf(result(samples(600, 5, { bulk: (t) => 16 - t / 100 })), 120), ["bulk throughput"])
    assert.deepStrictEqual(failedOf(result(samples(600, 5, { bulk: (t) => 16 - t / 1000 })), 120), [], "a 3 % fall")
  })

  it("notes, without failing, a rate below 90 % of the asked one", () => {
    const v = judge(result(samples(60, 2, { bulk: () => 8 })), { warmupS: 12, load })
    assert.isTrue(v.pass)
    assert.deepStrictEqual(v.notes, ["bulk throughput: mean 8.0 MiB/s, 50 % of the asked 16.0: the machine or the tunnel did not keep up"])
  })

  it("fails any byte lost, connection error, dropped holder, reconnect or unclean exit, each by name", () => {
    const cases: Array<[string, (r: ReturnType<typeof result>) => void]> = [
      ["bytes lost", (r) => (r.final.bulk.lostBytes = 65_536)],
      ["bulk errors", (r) => (r.final.bulk.errors = { ECONNRESET: 1 })],
      ["short connection errors", (r) => (r.final.short.errors = { "wrong echo": 1 })],
      ["holder errors", (r) => (r.final.holders.dropped = 1)],
      ["holder errors", (r) => (r.final.holders.touchErrors = { "no echo in time": 2 })],
      ["reconnects", (r) => (r.logs[1]!.reconnects = 1)],
      ["client exit on SIGTERM", (r) => (r.shutdown.client = 1)],
      ["run", (r) => (r.error = "backhaul server (tcp) exited (1) during the soak")]
    ]
    for (const [name, spoil] of cases) {
      const r = result(samples(60, 2))
      spoil(r)
      assert.deepStrictEqual(failedOf(r), [name], name)
    }
  })
})

describe("soak command line", () => {
  it("warms up for 20 % of the run, at most two minutes", () => {
    assert.strictEqual(defaultWarmup(60), 12)
    assert.strictEqual(defaultWarmup(300), 60)
    assert.strictEqual(defaultWarmup(30 * 60), 120)
    const args = parse(["--minutes", "30"])
    assert.strictEqual(args.warmupS, 120)
    assert.strictEqual(args.seconds, 1800)
    assert.deepStrictEqual(args.transports, ["tcp", "tcpmux", "ws", "wsmux", "wss", "wssmux"])
  })

  it("takes a transport list, the rates and --parallel", () => {
    const args = parse(["--minutes", "1", "--transport", "tcp,wss", "--interval", "2", "--parallel", "--conn-rate", "50", "--bulk-rate", "4", "--holders", "10"])
    assert.deepStrictEqual(args.transports, ["tcp", "wss"])
    assert.isTrue(args.parallel)
    assert.deepStrictEqual(args.load, { connsPerSecond: 50, bulkBytesPerSecond: 4 * 2 ** 20, holders: 10 })
  })

  it("refuses a run with too few samples after the warm-up to fit, and says what to change", () => {
    assert.throws(() => parse(["--minutes", "1", "--interval", "10"]), new RegExp(`leaves 4 samples to fit, fewer than ${MIN_WINDOW_SAMPLES}: shorten --interval`))
    assert.doesNotThrow(() => parse(["--minutes", "1", "--interval", "5"]))
  })

  it("names the bad option", () => {
    assert.throws(() => parse(["--transport", "tcp,quic"]), /--transport quic: unknown/)
    assert.throws(() => parse(["--transport", "tcp,tcp"]), /named twice/)
    assert.throws(() => parse(["--minutes", "0"]), /--minutes 0: expected a number from 0.25/)
    assert.throws(() => parse(["--holders", "1.5"]), /--holders 1.5: expected an integer/)
    assert.throws(() => parse(["--bogus"]), /bogus/)
  })
})
