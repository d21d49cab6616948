// The performance targets, in one place. A missed target is a result, never a harness failure.

export const TARGETS = {
  bulk: { text: "≥ 1.5× socat", transports: ["tcp"], met: (r) => r.ratio >= 1.5 },
  newConnRate: { text: "≥ 0.5× direct", met: (r) => r.ratio >= 0.5 },
  newConnP99: { text: "≤ 3× direct", met: (r) => r.ratio <= 3 },
  keepAliveRate: { text: "≥ 0.5× direct", met: (r) => r.ratio >= 0.5 },
  // server + client RSS growth, per connection, at 10,000 idle connections
  rssPerConn: { text: "≤ 10 KiB", met: (r) => r.tunnel <= 10 },
  // idle RSS of each process; MB = 10^6 bytes, the stricter reading of "60 MB"
  idleRss: { text: "≤ 60 MB", met: (r) => r.tunnel <= 60 }
}

/** The target text and verdict for a row: met true/false, null when no target applies or no number. */
export function judge(row, id) {
  const target = id && TARGETS[id]
  if (!target || (target.transports && !target.transports.includes(row.transport))) return { target: null, met: null }
  const value = target.text.includes("×") ? row.ratio : row.tunnel
  return { target: target.text, met: Number.isFinite(value) ? target.met(row) : null }
}
