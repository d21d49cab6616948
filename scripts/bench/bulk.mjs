// Bulk throughput: iperf3 through each tunnel, against direct loopback and a socat one-hop relay to the
// same iperf3 server. Runs are interleaved (direct, socat, each tunnel; repeat) so drift hits all alike.
import { freePorts, HOST } from "./net.mjs"
import * as procs from "./procs.mjs"
import { interleaved, median } from "./stats.mjs"
import { baselineOf, bulkVsBaseline } from "./targets.mjs"
import * as tunnel from "./tunnel.mjs"

const CASES = [
  { key: "fwd1", label: "bulk forward, 1 stream", reverse: false, streams: 1 },
  { key: "fwd8", label: "bulk forward, 8 streams", reverse: false, streams: 8 },
  { key: "rev1", label: "bulk reverse (-R), 1 stream", reverse: true, streams: 1 },
  { key: "rev8", label: "bulk reverse (-R), 8 streams", reverse: true, streams: 8 }
]

/**
 * One iperf3 client run; retries when the server is still busy with the previous test, or between tests
 * (after a many-stream test, iperf3 3.12 has been seen refusing the next connection for a moment).
 */
async function iperf(port, { reverse, streams }, seconds) {
  const args = ["-c", HOST, "-p", String(port), "-t", String(seconds), "-J", "--connect-timeout", "3000"]
  if (reverse) args.push("-R")
  if (streams > 1) args.push("-P", String(streams))
  let last = "no attempt"
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await procs.run("iperf3 -c", "iperf3", args, seconds * 1000 + 20_000)
    let json
    try {
      json = JSON.parse(r.stdout)
    } catch {
      last = `iperf3 exited ${r.code}, unparsable output: ${(r.stderr || r.stdout).slice(0, 200)}`
      continue
    }
    if (!json.error) {
      const perStream = (json.end.streams ?? []).map((st) => (st.receiver?.bits_per_second ?? NaN) / 1e9)
      return {
        gbps: json.end.sum_received.bits_per_second / 1e9,
        perStream,
        retransmits: json.end.sum_sent?.retransmits ?? null,
        cpu: json.end.cpu_utilization_percent ?? null
      }
    }
    last = json.error
    if (!/busy|refused/i.test(json.error)) break
    await procs.sleep(1_000)
  }
  throw new Error(`iperf3 to port ${port}: ${last}`)
}

export async function bulk(ctx) {
  const { profile, report } = ctx
  const [iperfPort, socatPort, ...userPorts] = await freePorts(2 + ctx.transports.length)
  const server = procs.start("iperf3 -s", "iperf3", ["-s", "--forceflush", "-B", HOST, "-p", String(iperfPort)])
  await server.waitFor(/Server listening/, 5_000)
  const socatArgs = ["-d", "-d", `TCP-LISTEN:${socatPort},bind=${HOST},reuseaddr,fork,backlog=512`, `TCP:${HOST}:${iperfPort}`]
  const socat = procs.start("socat relay", "socat", socatArgs)
  await socat.waitFor(/listening on/, 5_000)

  const endpoints = [{ name: "direct", port: iperfPort }, { name: "socat", port: socatPort }]
  const tunnels = []
  for (const [i, transport] of ctx.transports.entries()) {
    const t = await tunnel.start({ binary: ctx.binary, transport, ports: [tunnel.mapping(userPorts[i], iperfPort)], extra: ctx.extra })
    tunnels.push(t)
    endpoints.push({ name: transport, port: userPorts[i], tunnel: t })
  }

  const raw = { socatCommand: `socat ${socatArgs.slice(2).join(" ")}`, seconds: profile.iperfSeconds, cases: {} }
  for (const c of CASES) {
    const runs = await interleaved({
      endpoints,
      runs: profile.runs,
      measure: (e) => iperf(e.port, c, profile.iperfSeconds),
      failed: { gbps: NaN },
      fail: ctx.fail,
      label: c.label,
      describe: (r) => `${r.gbps.toFixed(2)} Gbit/s`
    })
    raw.cases[c.key] = { ...c, runs }
    const med = (name) => median(runs[name].map((r) => r.gbps))
    const unit = "Gbit/s"
    report.baseline({ name: "direct loopback", metric: c.label, unit, value: med("direct"), runs: runs.direct })
    report.baseline({ name: "socat one-hop", metric: c.label, unit, value: med("socat"), runs: runs.socat })
    for (const t of tunnels) {
      report.add({
        transport: t.transport,
        section: "bulk",
        metric: c.label,
        unit,
        tunnel: med(t.transport),
        baseline: med("socat"),
        baselineName: "socat",
        target: "bulk",
        runs: runs[t.transport]
      })
      // against the transport it builds on (tcpmux and ws: tcp; wsmux: tcpmux; wss: ws; wssmux: wsmux)
      const base = baselineOf(t.transport, ctx.transports)
      if (base) {
        report.add({
          transport: t.transport,
          section: "bulk",
          metric: `${c.label}, vs ${base}`,
          unit,
          tunnel: med(t.transport),
          baseline: med(base),
          baselineName: base,
          target: bulkVsBaseline(t.transport, c.key)
        })
      }
      if (c.streams > 1) {
        // fairness: the slowest and the fastest stream of each run against an equal share of that run's sum
        const shares = runs[t.transport].filter((r) => r.perStream?.length === c.streams).map((r) => {
          const fair = r.perStream.reduce((a, b) => a + b, 0) / c.streams
          return { min: Math.min(...r.perStream) / fair, max: Math.max(...r.perStream) / fair }
        })
        const row = { transport: t.transport, section: "bulk", unit: "× fair share", baselineName: "fair share", baseline: 1 }
        report.add({ ...row, metric: `${c.label}: slowest stream`, tunnel: median(shares.map((x) => x.min)), target: "fairShare" })
        report.add({ ...row, metric: `${c.label}: fastest stream`, tunnel: median(shares.map((x) => x.max)) })
      }
    }
  }
  for (const t of tunnels) ctx.noteShutdown(t, await t.stop())
  await socat.stop()
  await server.stop()
  return raw
}
