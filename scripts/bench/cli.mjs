// Command-line options and the two run profiles (quick for smoke checks, full for quoted numbers).
import { parseArgs } from "node:util"
import { DEFAULT_CANDIDATES, KNOWN_TRANSPORTS } from "./tunnel.mjs"

export const SECTIONS = ["bulk", "http", "scale", "startup"]

const PROFILES = {
  full: {
    runs: 3, // median of this many runs for throughput and wrk numbers
    iperfSeconds: 10,
    wrkSeconds: 10,
    wrkWarmupSeconds: 2,
    scaleCounts: [1_000, 10_000],
    settleMs: 3_000, // quiet time before reading RSS
    startupRuns: 5
  },
  quick: {
    runs: 1,
    iperfSeconds: 2,
    wrkSeconds: 2,
    wrkWarmupSeconds: 0,
    scaleCounts: [1_000],
    // past the processes' start-up memory release (a GC and shrink 1 s after start): a read at 1 s
    // caught the client before it and reported ~3.5 MB more than its idle RSS
    settleMs: 2_000,
    startupRuns: 1
  }
}

export const USAGE = `usage: npm run bench -- [--quick] [--transport tcp,tcpmux,ws] [--only bulk,http,scale,startup]
                       [--runs N] [--set [server.|client.]key=toml-value]... [--out DIR]

  --quick       a few seconds per metric (smoke check, ~30 s per transport); default is the full suite (~5 min per transport)
  --transport   transports to measure (default: every one of ${DEFAULT_CANDIDATES.join(", ")} that dist/backhaul implements)
  --only        run only these sections
  --runs        runs per throughput/wrk measurement (median is reported; default 3 full, 1 quick)
  --set         extra config key for both sides (or one side), e.g. --set nodelay=true --set server.channel_size=4096
                (do not lower log_level below info: readiness is read from the logs)
  --out         directory for the JSON result (default bench-results/)`

/** Parses argv; throws with a usage message on a bad option. */
export function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      transport: { type: "string" },
      only: { type: "string" },
      runs: { type: "string" },
      set: { type: "string", multiple: true, default: [] },
      out: { type: "string", default: "bench-results" },
      help: { type: "boolean", short: "h", default: false }
    },
    strict: true
  })
  const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean)
  const transports = values.transport ? list(values.transport) : undefined
  for (const t of transports ?? []) {
    if (!KNOWN_TRANSPORTS.includes(t)) throw new Error(`--transport ${t}: unknown (known: ${KNOWN_TRANSPORTS.join(", ")})`)
  }
  const only = values.only ? list(values.only) : SECTIONS
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only ${s}: unknown (sections: ${SECTIONS.join(", ")})`)
  const mode = values.quick ? "quick" : "full"
  const profile = { ...PROFILES[mode] }
  if (values.runs !== undefined) {
    const n = Number(values.runs)
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--runs ${values.runs}: expected 1..20`)
    profile.runs = n
  }
  return { help: values.help, mode, profile, transports, only, sets: values.set, out: values.out }
}
