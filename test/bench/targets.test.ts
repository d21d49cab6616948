/**
 * The benchmark's targets: which baseline transport of the same run each transport is compared with,
 * the thresholds of issues 11 and 12, the Go tool's figures in the target text, and the verdicts the
 * table shows (met, MISSED, n/a without a number, nothing for a reference without a target).
 */
import { assert, describe, it } from "@effect/vitest"
// @ts-expect-error: a plain JavaScript module of the benchmark, without types
import { render, Report } from "../../scripts/bench/report.mjs"
import {
  BASELINE_OF,
  baselineOf,
  bulkVsBaseline,
  judge,
  newConnVsBaseline,
  rssPerConnAt10k
  // @ts-expect-error: a plain JavaScript module of the benchmark, without types
} from "../../scripts/bench/targets.mjs"
// @ts-expect-error: a plain JavaScript module of the benchmark, without types
import { DEFAULT_CANDIDATES, KNOWN_TRANSPORTS } from "../../scripts/bench/tunnel.mjs"

interface Target {
  readonly text: string
  readonly met?: (row: { ratio: number; tunnel: number }) => boolean
}

const ALL = ["tcp", "tcpmux", "ws", "wsmux", "wss", "wssmux"]

/** The last cell of a row's line in the table: its status, or its target text when the status is empty. */
const lastCell = (report: { rows: Array<unknown> }, metric: string) => {
  const line = (render(report) as string).split("\n").find((l) => l.includes(metric))
  assert.isDefined(line, metric)
  return line!.trimEnd().split(/\s{2,}/).at(-1)
}

describe("bench baselines", () => {
  it("compares each transport with the one it builds on", () => {
    assert.deepStrictEqual(ALL.map((t) => baselineOf(t, ALL)), [undefined, "tcp", "tcp", "tcpmux", "ws", "wsmux"])
  })

  it("has no comparison when the baseline transport is not measured in the run", () => {
    assert.isUndefined(baselineOf("wss", ["tcp", "wss"]))
    assert.isUndefined(baselineOf("wsmux", ["tcp", "ws", "wsmux"]))
    assert.strictEqual(baselineOf("wss", ["ws", "wss"]), "ws")
    assert.strictEqual(baselineOf("tcpmux", ["tcpmux", "tcp"]), "tcp")
  })

  it("runs every stream transport by default, and every baseline is one of them", () => {
    assert.deepStrictEqual([...DEFAULT_CANDIDATES].sort(), [...ALL].sort())
    for (const t of DEFAULT_CANDIDATES) assert.include(KNOWN_TRANSPORTS, t)
    for (const base of Object.values(BASELINE_OF)) assert.include(DEFAULT_CANDIDATES, base)
  })
})

describe("bench targets", () => {
  const verdict = (transport: string, target: unknown, row: Partial<{ ratio: number; tunnel: number }>) =>
    judge({ transport, ratio: NaN, tunnel: NaN, ...row }, target)

  it("bulk: tcpmux ≥ 0.9× tcp, ws ≥ 0.7× tcp, wsmux ≥ 0.7× tcpmux, wss ≥ 0.5× ws, in every case", () => {
    for (const [transport, min, base] of [["tcpmux", 0.9, "tcp"], ["ws", 0.7, "tcp"], ["wsmux", 0.7, "tcpmux"], ["wss", 0.5, "ws"]] as const) {
      for (const key of ["fwd1", "rev1", "fwd8", "rev8"]) {
        const target: Target = bulkVsBaseline(transport, key)
        assert.match(target.text, new RegExp(`^≥ ${min}× ${base}( |$)`), `${transport} ${key}`)
        assert.deepStrictEqual(verdict(transport, target, { ratio: min }), { target: target.text, met: true })
        assert.deepStrictEqual(verdict(transport, target, { ratio: min - 0.01 }), { target: target.text, met: false })
        assert.deepStrictEqual(verdict(transport, target, { ratio: NaN }), { target: target.text, met: null })
      }
    }
  })

  it("new connections: tcpmux ≥ 1.0× tcp, ws ≥ 0.8× tcp, wsmux ≥ 0.8× tcpmux", () => {
    for (const [transport, min, base] of [["tcpmux", 1, "tcp"], ["ws", 0.8, "tcp"], ["wsmux", 0.8, "tcpmux"]] as const) {
      const target: Target = newConnVsBaseline(transport)
      assert.match(target.text, new RegExp(`^≥ ${min}× ${base} `))
      assert.isTrue(verdict(transport, target, { ratio: min }).met)
      assert.isFalse(verdict(transport, target, { ratio: min - 0.01 }).met)
    }
  })

  it("puts the Go tool's figure for the same comparison in the text", () => {
    assert.strictEqual(bulkVsBaseline("tcpmux", "fwd1").text, "≥ 0.9× tcp (Go: 0.56×)")
    assert.strictEqual(bulkVsBaseline("ws", "fwd1").text, "≥ 0.7× tcp (Go: 0.21×)")
    assert.strictEqual(bulkVsBaseline("ws", "rev1").text, "≥ 0.7× tcp (Go: 0.17×)")
    assert.strictEqual(bulkVsBaseline("ws", "fwd8").text, "≥ 0.7× tcp", "no Go figure for 8 streams")
    assert.strictEqual(newConnVsBaseline("ws").text, "≥ 0.8× tcp (Go: 0.46–0.57×)")
    assert.strictEqual(bulkVsBaseline("wsmux", "fwd1").text, "≥ 0.7× tcpmux (Go: 0.90× Go's tcpmux)")
    assert.strictEqual(newConnVsBaseline("wsmux").text, "≥ 0.8× tcpmux (Go: 0.74× Go's tcpmux)")
    assert.strictEqual(bulkVsBaseline("wss", "fwd1").text, "≥ 0.5× ws (Go: 0.73× Go's ws)")
  })

  it("has no target where the issues set none, only Go's figure as a reference where there is one", () => {
    assert.isUndefined(bulkVsBaseline("tcp", "fwd1"))
    assert.isUndefined(newConnVsBaseline("tcp"))
    assert.isUndefined(bulkVsBaseline("wssmux", "rev8"))
    for (const target of [bulkVsBaseline("wssmux", "fwd1"), newConnVsBaseline("wssmux"), newConnVsBaseline("wss")] as Array<Target>) {
      assert.match(target.text, /^none \(Go: [\d.]+× Go's \w+\)$/)
      assert.deepStrictEqual(verdict("wssmux", target, { ratio: 0.01 }), { target: target.text, met: null, reference: true })
    }
  })

  it("RSS per connection at 10,000: tcp ≤ 10 KiB, tcpmux ≤ 4, wsmux ≤ 5; ws shows Go's 72 KiB", () => {
    for (const [transport, max] of [["tcp", 10], ["tcpmux", 4], ["wsmux", 5]] as const) {
      const id = rssPerConnAt10k(transport)
      assert.deepStrictEqual(verdict(transport, id, { tunnel: max }), { target: `≤ ${max} KiB`, met: true })
      assert.deepStrictEqual(verdict(transport, id, { tunnel: max + 0.1 }), { target: `≤ ${max} KiB`, met: false })
    }
    assert.deepStrictEqual(verdict("ws", rssPerConnAt10k("ws"), { tunnel: 3 }), { target: "none (Go: 72 KiB)", met: null, reference: true })
    assert.isUndefined(rssPerConnAt10k("wss"))
    assert.isUndefined(rssPerConnAt10k("wssmux"))
  })

  it("applies a named target only to its transports", () => {
    assert.deepStrictEqual(verdict("ws", "bulk", { ratio: 2 }), { target: null, met: null })
    assert.deepStrictEqual(verdict("tcp", "bulk", { ratio: 2 }), { target: "≥ 1.5× socat", met: true })
    assert.deepStrictEqual(verdict("wss", "newConnP99", { ratio: 3.5 }), { target: "≤ 3× direct", met: false })
    assert.deepStrictEqual(verdict("wss", undefined, { ratio: 1 }), { target: null, met: null })
  })

  it("shows met, MISSED, n/a and, for a reference, no verdict in the table", () => {
    const report = new Report()
    const row = { section: "bulk", unit: "Gbit/s" }
    report.add({ ...row, transport: "ws", metric: "A fwd1, vs tcp", tunnel: 7, baseline: 10, baselineName: "tcp", target: bulkVsBaseline("ws", "fwd1") })
    report.add({ ...row, transport: "ws", metric: "B rev1, vs tcp", tunnel: 6, baseline: 10, baselineName: "tcp", target: bulkVsBaseline("ws", "rev1") })
    report.add({ ...row, transport: "wss", metric: "C fwd1, vs ws", tunnel: 3, baseline: NaN, baselineName: "ws", target: bulkVsBaseline("wss", "fwd1") })
    report.add({ ...row, transport: "wssmux", metric: "D fwd1, vs wsmux", tunnel: 3, baseline: 5, baselineName: "wsmux", target: bulkVsBaseline("wssmux", "fwd1") })
    assert.strictEqual(lastCell(report, "A fwd1"), "met")
    assert.strictEqual(lastCell(report, "B rev1"), "MISSED")
    assert.strictEqual(lastCell(report, "C fwd1"), "n/a")
    assert.strictEqual(lastCell(report, "D fwd1"), "none (Go: 0.69× Go's wsmux)")
    assert.match(render(report) as string, /D fwd1, vs wsmux \(Gbit\/s\)\s+3\.00\s+5\.00 wsmux\s+0\.60×/)
  })
})
