// Result rows, the human table (stdout), and the JSON / Markdown files under bench-results/.
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ratio, round } from "./stats.mjs"
import { judge } from "./targets.mjs"

/** Collects the rows of one benchmark run. */
export class Report {
  rows = []
  baselines = []
  notes = []

  /** A tunnel measurement, with its baseline (if any) and target id (if any). */
  add({ transport, section, metric, unit, tunnel, baseline, baselineName, target, digits = 2, runs }) {
    const row = { transport, section, metric, unit, tunnel, baseline, baselineName, ratio: ratio(tunnel, baseline), digits, runs }
    Object.assign(row, judge(row, target))
    this.rows.push(row)
    return row
  }

  /** A baseline measured in the same run (direct loopback, socat one-hop, `--version` start). */
  baseline({ name, metric, unit, value, digits = 2, runs }) {
    this.baselines.push({ name, metric, unit, value, digits, runs })
  }

  note(text) {
    this.notes.push(text)
    console.error(`bench: note: ${text}`)
  }
}

const fmt = (x, digits) =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "n/a"

const status = (r) => (r.target === null || r.reference ? "" : r.met === null ? "n/a" : r.met ? "met" : "MISSED")

function cells(report) {
  const main = report.rows.map((r) => [
    r.transport,
    `${r.metric} (${r.unit})`,
    fmt(r.tunnel, r.digits),
    r.baseline === undefined ? "—" : `${fmt(r.baseline, r.digits)} ${r.baselineName}`,
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : "—",
    r.target ?? "",
    status(r)
  ])
  const base = report.baselines.map((b) => [b.name, `${b.metric} (${b.unit})`, fmt(b.value, b.digits)])
  return {
    main: [["transport", "metric", "tunnel", "baseline", "ratio", "target", "status"], ...main],
    base: [["baseline", "metric", "value"], ...base]
  }
}

const numeric = (s) => /^[\d,.]+(×)?$|^n\/a$|^—$/.test(s) || /^[\d,.]+ /.test(s)

function textTable(table) {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)))
  const line = (row) => row.map((cell, c) => (c > 1 && numeric(cell) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd()
  return [line(table[0]), widths.map((w) => "-".repeat(w)).join("  "), ...table.slice(1).map(line)].join("\n")
}

function markdownTable(table) {
  const line = (row) => `| ${row.join(" | ")} |`
  const align = table[0].map((_, c) => (c >= 2 && c <= 4 ? "---:" : "---"))
  return [line(table[0]), line(align), ...table.slice(1).map(line)].join("\n")
}

/** The human report: results, baselines, notes. */
export function render(report, { markdown = false } = {}) {
  const { main, base } = cells(report)
  const table = markdown ? markdownTable : textTable
  const parts = [table(main)]
  if (base.length > 1) parts.push("", "Baselines measured in the same run:", "", table(base))
  if (report.notes.length) parts.push("", "Notes:", ...report.notes.map((n) => `- ${n}`))
  return parts.join("\n")
}

const clean = (value) =>
  JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "number" ? round(v) : v)))

/** Writes `<out>/<stamp>-<mode>.json` and `.md`; returns the JSON path. */
export function write(out, stamp, mode, report, extra) {
  mkdirSync(out, { recursive: true })
  const base = join(out, `${stamp}-${mode}`)
  const rows = report.rows.map(({ digits, ...r }) => r)
  const baselines = report.baselines.map(({ digits, ...b }) => b)
  writeFileSync(`${base}.json`, JSON.stringify(clean({ ...extra, rows, baselines, notes: report.notes }), null, 2) + "\n")
  writeFileSync(`${base}.md`, render(report, { markdown: true }) + "\n")
  return `${base}.json`
}
