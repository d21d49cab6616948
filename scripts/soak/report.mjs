// The soak's output: a progress line per sample (stderr), the summary table and the failed checks
// (stdout), and one JSON file per transport under bench-results/.
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { round } from "../bench/stats.mjs"

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")
const signed = (x, digits = 1) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)}` : "n/a")

/** One line per sample, so that a long run shows how it is going. */
export function progressLine(transport, s) {
  const side = (name, p) => `${name} ${fmt(p.rssMB)} MB ${p.fds} fds ${fmt(p.cpuPct, 0)}% cpu`
  const p99 = s.latencyMs?.p99
  return `soak: ${transport.padEnd(6)} t=${fmt(s.t, 0).padStart(5)}s  ${side("server", s.server)} | ${side("client", s.client)} | ` +
    `bulk ${fmt(s.bulkMiBps)} MiB/s | ${fmt(s.connsPerS, 0)} conn/s p99 ${p99 == null ? "n/a" : fmt(p99)} ms | held ${s.held} | errors ${s.errors}`
}

const HEAD = ["transport", "server RSS MB", "MB/h", "client RSS MB", "MB/h", "server fds", "floor/h", "client fds", "floor/h",
  "bulk MiB/s", "change", "conn/s", "worst p99 ms", "errors", "bytes lost", "verdict"]

/** The summary table: one row per transport, means and slopes over the window after the warm-up. */
export function table(rows) {
  const cells = rows.map(({ transport, verdict, result }) => {
    const tr = verdict.trends
    const window = result.samples.filter((s) => s.t >= verdict.warmupS - 1e-9 && s.t > 0)
    const p99 = Math.max(...window.map((s) => s.latencyMs?.p99 ?? NaN).filter(Number.isFinite))
    const f = result.final
    const errors = f ? f.errors : "n/a"
    return [
      transport,
      fmt(tr.serverRss.meanY),
      signed(tr.serverRss.perHour),
      fmt(tr.clientRss.meanY),
      signed(tr.clientRss.perHour),
      fmt(tr.serverFds.meanY, 0),
      signed(tr.serverFdFloor.perHour),
      fmt(tr.clientFds.meanY, 0),
      signed(tr.clientFdFloor.perHour),
      fmt(tr.bulk.meanY),
      `${signed((100 * tr.bulk.rise) / tr.bulk.meanY)} %`,
      fmt(tr.conns.meanY, 0),
      fmt(p99),
      String(errors),
      f ? String(f.bulk.lostBytes) : "n/a",
      verdict.pass ? "flat" : "FAIL"
    ]
  })
  const all = [HEAD, ...cells]
  const widths = HEAD.map((_, c) => Math.max(...all.map((r) => r[c].length)))
  const line = (r) => r.map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd()
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n")
}

/** The failed checks of every transport, one line each, naming the slope or count. */
export function failures(rows) {
  return rows.flatMap(({ transport, verdict }) =>
    verdict.checks.filter((c) => !c.pass).map((c) => `${transport}: ${c.name}: ${c.detail}`))
}

const clean = (value) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "number" ? round(v) : v)))

/** Writes `<out>/soak-<stamp>-<transport>.json`; returns its path. */
export function write(out, stamp, transport, content) {
  mkdirSync(out, { recursive: true })
  const path = join(out, `soak-${stamp}-${transport}.json`)
  writeFileSync(path, JSON.stringify(clean(content), null, 2) + "\n")
  return path
}
