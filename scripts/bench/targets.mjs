// The open issues' performance targets, in one place. A missed target is a result, never a harness failure.
//
// Targets are ratios to our own `tcp` measured in the same run (issue 11 and on), or to a baseline of the
// same run; the Go tool's figure for the same ratio, from the issue's side-by-side runs, stands in the
// target text where the issue gives one. The old "new connections ≥ 0.5× direct loopback" target is
// retired: no two-hop relay reaches it on this kind of machine, HAProxy included (docs/benchmarks.md).

/** The Go tool, as ratios to our tcp in the same rounds (issue 11: our tcp 10.4 / 10.9 / 10.1 Gbit/s, 5,400 req/s). */
const GO = {
  tcpmux: { fwd1: 5.8 / 10.4, rev1: 5.7 / 10.9, fwd8: 8.1 / 10.1, rev8: 8.1 / 10.1, newConn: 4700 / 5400 }
}

const vsTcp = (min, go) => ({
  text: `≥ ${min}× tcp${go === undefined ? "" : ` (Go: ${go.toFixed(2)}×)`}`,
  met: (r) => r.ratio >= min
})

export const TARGETS = {
  bulk: { text: "≥ 1.5× socat", transports: ["tcp"], met: (r) => r.ratio >= 1.5 },
  newConnP99: { text: "≤ 3× direct", met: (r) => r.ratio <= 3 },
  keepAliveRate: { text: "≥ 0.5× direct", met: (r) => r.ratio >= 0.5 },
  // server + client RSS growth, per connection, at 10,000 idle connections
  rssPerConn: { text: "≤ 10 KiB", transports: ["tcp"], met: (r) => r.tunnel <= 10 },
  rssPerStream: { text: "≤ 4 KiB", transports: ["tcpmux"], met: (r) => r.tunnel <= 4 },
  // idle RSS of each process; MB = 10^6 bytes, the stricter reading of "60 MB"
  idleRss: { text: "≤ 60 MB", met: (r) => r.tunnel <= 60 },
  // the slowest of 8 parallel streams on one session, against an equal share of their sum
  fairShare: { text: "≥ 0.5× fair share", transports: ["tcpmux"], met: (r) => r.ratio >= 0.5 }
}

/** The target of a transport's bulk case against our tcp, if the issues set one. */
export const bulkVsTcp = (transport, key) =>
  transport === "tcpmux" ? vsTcp(0.9, GO.tcpmux[key]) : undefined

/** The target of a transport's new-connection rate against our tcp, if the issues set one. */
export const newConnVsTcp = (transport) => (transport === "tcpmux" ? vsTcp(1.0, GO.tcpmux.newConn) : undefined)

/** The target text and verdict for a row: met true/false, null when no target applies or no number. */
export function judge(row, id) {
  const target = typeof id === "object" && id !== null ? id : id && TARGETS[id]
  if (!target || (target.transports && !target.transports.includes(row.transport))) return { target: null, met: null }
  const value = target.text.includes("×") ? row.ratio : row.tunnel
  return { target: target.text, met: Number.isFinite(value) ? target.met(row) : null }
}
