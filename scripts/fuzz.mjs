#!/usr/bin/env node
// `npm run fuzz [-- --runs N]`: the fuzz suites (test/fuzz/ and the WebSocket frame codec's own,
// test/transport/ws/Frame.test.ts) with FUZZ_RUNS=N (20,000 by default), then a table of the cases each
// decoder ran and how they ended, from the tallies the suites write to a directory of this run's own
// (test-results/fuzz-<pid>/: other test runs in the tree at the same time leave it alone), kept as
// test-results/fuzz-summary.json. Fails when a suite fails or a decoder ran fewer than 5 × N cases
// (100,000 at the default). The live-socket suites scale with N too (N / 20 hostile peers per
// transport, N / 100 hostile-server scenarios).
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const at = process.argv.indexOf("--runs")
const runs = at >= 0 ? Number(process.argv[at + 1]) : 20_000
if (!Number.isInteger(runs) || runs <= 0) {
  console.error(`--runs wants a positive whole number, got ${JSON.stringify(process.argv[at + 1])}`)
  process.exit(2)
}
const decoders = ["handshake", "control frames", "mux frames", "ws frames", "http head"]
const dir = join(process.cwd(), "test-results", `fuzz-${process.pid}`)
rmSync(dir, { recursive: true, force: true })

const started = Date.now()
const vitest = spawnSync("npx", ["vitest", "run", "test/fuzz", "test/transport/ws/Frame.test.ts"], {
  stdio: "inherit",
  env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_TALLY_DIR: dir }
})
const minutes = ((Date.now() - started) / 60_000).toFixed(1)

const counts = {}
const outcomes = {}
for (const file of existsSync(dir) ? readdirSync(dir) : []) {
  const tally = JSON.parse(readFileSync(join(dir, file), "utf8"))
  for (const [k, n] of Object.entries(tally.counts)) counts[k] = (counts[k] ?? 0) + n
  for (const [k, o] of Object.entries(tally.outcomes)) {
    outcomes[k] ??= {}
    for (const [what, n] of Object.entries(o)) outcomes[k][what] = (outcomes[k][what] ?? 0) + n
  }
}

console.log(`\nfuzz: FUZZ_RUNS=${runs}, ${minutes} min (test/transport/ws/Frame.test.ts runs on top, uncounted here)\n`)
const width = Math.max(...Object.keys(counts).map((k) => k.length), 10)
for (const k of Object.keys(counts).sort()) {
  console.log(`${k.padEnd(width)}  ${String(counts[k]).padStart(8)} cases`)
  const top = Object.entries(outcomes[k] ?? {}).sort((a, b) => b[1] - a[1])
  for (const [what, n] of top.slice(0, 12)) console.log(`${"".padEnd(width)}    ${String(n).padStart(8)}  ${what}`)
  if (top.length > 12) console.log(`${"".padEnd(width)}    ${"".padStart(8)}  … ${top.length - 12} more outcomes`)
}
rmSync(dir, { recursive: true, force: true })
writeFileSync(join("test-results", "fuzz-summary.json"), JSON.stringify({ runs, minutes: Number(minutes), counts, outcomes }, null, 2) + "\n")
const short = decoders.filter((d) => (counts[d] ?? 0) < 5 * runs)
if (short.length > 0) console.error(`\nfewer than ${5 * runs} cases: ${short.join(", ")}`)
process.exit(vitest.status !== 0 ? (vitest.status ?? 1) : short.length > 0 ? 1 : 0)
