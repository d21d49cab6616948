// Command-line options of `npm run soak`.
import { parseArgs } from "node:util"
import { DEFAULT_CANDIDATES, KNOWN_TRANSPORTS } from "../bench/tunnel.mjs"

export const USAGE = `usage: npm run soak -- --minutes N [--transport tcp,ws,...|all] [--interval S] [--parallel]
                      [--conn-rate R] [--bulk-rate MIB] [--holders H] [--warmup S]
                      [--set [server.|client.]key=toml-value]... [--out DIR]

  --minutes     how long each transport is soaked (may be fractional); with --parallel this is also the
                whole run's length, one after another it is multiplied by the number of transports
  --transport   transports to soak (default all: ${DEFAULT_CANDIDATES.join(", ")})
  --interval    seconds between samples of RSS, fds, CPU and traffic (default 5)
  --parallel    soak every transport at once (they share the machine's cores, and so its throughput)
  --conn-rate   new short connections per second per transport (default 100; 0: none)
  --bulk-rate   bulk stream rate per transport in MiB/s (default 16; 0: as fast as the tunnel takes it)
  --holders     idle connections held open per transport for the whole run (default 200; 0: none)
  --warmup      seconds left out of the slope fits (default: 20 % of --minutes, at most 120)
  --set         extra config key for both sides (or one side), as in npm run bench
  --out         directory for the JSON results (default bench-results/)

Exits 0 when every transport's RSS, fds and throughput stayed flat after the warm-up and no byte,
connection or session was lost; 1 naming what failed; 2 on a bad option.`

const number = (name, text, { min, max, integer = false }) => {
  const n = Number(text)
  if (text === undefined || text === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new Error(`--${name} ${text}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`)
  }
  return n
}

/** Parses argv; throws with a message naming the bad option. */
export function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: "string", default: "1" },
      transport: { type: "string", default: "all" },
      interval: { type: "string", default: "5" },
      parallel: { type: "boolean", default: false },
      "conn-rate": { type: "string", default: "100" },
      "bulk-rate": { type: "string", default: "16" },
      holders: { type: "string", default: "200" },
      warmup: { type: "string" },
      set: { type: "string", multiple: true, default: [] },
      out: { type: "string", default: "bench-results" },
      help: { type: "boolean", short: "h", default: false }
    },
    strict: true,
    allowPositionals: false
  })
  const minutes = number("minutes", values.minutes, { min: 0.25, max: 7 * 24 * 60 })
  const seconds = minutes * 60
  const intervalS = number("interval", values.interval, { min: 0.5, max: 600 })
  const warmupS = values.warmup === undefined ? defaultWarmup(seconds) : number("warmup", values.warmup, { min: 0, max: seconds })
  // three points fit a line but say nothing about its noise; ask for enough to see a trend
  const inWindow = Math.floor((seconds - warmupS) / intervalS) + (warmupS === 0 ? 1 : 0)
  if (inWindow < MIN_WINDOW_SAMPLES) {
    throw new Error(
      `--minutes ${minutes} with --interval ${intervalS} and ${warmupS} s of warm-up leaves ${inWindow} samples to fit, ` +
        `fewer than ${MIN_WINDOW_SAMPLES}: shorten --interval or lengthen --minutes`
    )
  }
  const list = values.transport.split(",").map((x) => x.trim()).filter(Boolean)
  const transports = list.length === 1 && list[0] === "all" ? [...DEFAULT_CANDIDATES] : list
  if (transports.length === 0) throw new Error("--transport: name at least one transport, or all")
  for (const t of transports) {
    if (!KNOWN_TRANSPORTS.includes(t)) throw new Error(`--transport ${t}: unknown (known: ${KNOWN_TRANSPORTS.join(", ")}, or all)`)
  }
  if (new Set(transports).size !== transports.length) throw new Error(`--transport ${values.transport}: a transport is named twice`)
  return {
    help: values.help,
    minutes,
    seconds,
    intervalS,
    warmupS,
    parallel: values.parallel,
    transports,
    load: {
      connsPerSecond: number("conn-rate", values["conn-rate"], { min: 0, max: 2_000 }),
      bulkBytesPerSecond: number("bulk-rate", values["bulk-rate"], { min: 0, max: 10_000 }) * 2 ** 20,
      holders: number("holders", values.holders, { min: 0, max: 5_000, integer: true })
    },
    sets: values.set,
    out: values.out
  }
}

/** The fewest samples after the warm-up that the slopes are fitted to. */
export const MIN_WINDOW_SAMPLES = 8

/**
 * The default warm-up: 20 % of the run, at most two minutes. Measured here, the tunnel processes' RSS
 * climbs for the first 5–15 s of load (holders opened, JIT, the allocator's pools and the GC heap
 * reaching their working size) and then stays within a few MB; 20 % leaves that out of a 1-minute run,
 * and past ten minutes two minutes is ample while keeping most of the run in the fit.
 */
export const defaultWarmup = (seconds) => Math.min(0.2 * seconds, 120)
