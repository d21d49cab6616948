// New-connection rate and latency: wrk (-t1 -c50) against a tiny Node HTTP server, through each tunnel
// and directly. "Connection: close" makes every request a fresh connection (through a tunnel: a fresh
// data channel); keep-alive reuses 50 connections. Two two-hop references without a tunnel's work are
// measured alongside: a bare relay on Bun's sockets (relay.mjs) and HAProxy (haproxy.mjs).
import { fileURLToPath } from "node:url"
import { freePorts, HOST } from "./net.mjs"
import * as procs from "./procs.mjs"
import { startHaproxyTwoHop } from "./haproxy.mjs"
import { startTwoHop } from "./relay.mjs"
import { interleaved, median } from "./stats.mjs"
import { baselineOf, newConnVsBaseline } from "./targets.mjs"
import * as tunnel from "./tunnel.mjs"

const CASES = [
  { key: "close", label: "new connection", header: ["-H", "Connection: close"], rateTarget: undefined, p99Target: "newConnP99", vsBaseline: newConnVsBaseline },
  { key: "keepalive", label: "keep-alive", header: [], rateTarget: "keepAliveRate", p99Target: undefined, vsBaseline: () => undefined }
]

const UNIT_MS = { us: 1e-3, ms: 1, s: 1e3, m: 6e4 }
const ms = (text) => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN
}

/** The numbers of one wrk run's text output. */
export function parseWrk(out) {
  const num = (re) => Number(re.exec(out)?.[1] ?? NaN)
  const pct = (p) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "")
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: pct(50),
    p99: pct(99),
    errors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
      non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0
    }
  }
}

async function wrk(port, c, seconds) {
  const args = ["-t1", "-c50", `-d${seconds}s`, "--latency", "--timeout", "5s", ...c.header, `http://${HOST}:${port}/`]
  const r = await procs.run("wrk", "wrk", args, seconds * 1000 + 20_000)
  const parsed = parseWrk(r.stdout)
  if (r.code !== 0 || !(parsed.requests > 0)) {
    throw new Error(`wrk to port ${port} exited ${r.code} after ${parsed.requests} requests: ${(r.stderr || r.stdout).slice(0, 300)}`)
  }
  return parsed
}

/** The references: each one's name in rows and runs, how its rows name it, and how it starts. */
const REFERENCES = [
  { name: "2-hop relay", against: "a bare relay", start: startTwoHop },
  { name: "2-hop haproxy", against: "HAProxy", start: startHaproxyTwoHop }
]

const errorCount = (e) => e.connect + e.read + e.write + e.timeout + e.non2xx

export async function http(ctx) {
  const { profile, report } = ctx
  const [targetPort, ...userPorts] = await freePorts(1 + ctx.transports.length)
  const script = fileURLToPath(new URL("./children/http-server.mjs", import.meta.url))
  const server = procs.start("http target", process.execPath, [script, String(targetPort)], { stdin: "pipe" })
  await server.waitFor(/^listening/, 5_000)

  const endpoints = [{ name: "direct", port: targetPort }]
  const references = []
  for (const reference of REFERENCES) {
    const started = await reference.start(targetPort)
    if (started.missing) report.note(`the ${reference.name} reference is left out: ${started.missing}`)
    else {
      references.push({ ...reference, stop: started.stop })
      endpoints.push({ name: reference.name, port: started.port })
    }
  }
  const tunnels = []
  for (const [i, transport] of ctx.transports.entries()) {
    const t = await tunnel.start({ binary: ctx.binary, transport, ports: [tunnel.mapping(userPorts[i], targetPort)], extra: ctx.extra })
    tunnels.push(t)
    endpoints.push({ name: transport, port: userPorts[i] })
  }

  const raw = { seconds: profile.wrkSeconds, wrk: "wrk -t1 -c50 --latency --timeout 5s", cases: {} }
  for (const c of CASES) {
    if (profile.wrkWarmupSeconds > 0) {
      for (const e of endpoints) await wrk(e.port, c, profile.wrkWarmupSeconds).catch(() => {})
    }
    const runs = await interleaved({
      endpoints,
      runs: profile.runs,
      measure: (e) => wrk(e.port, c, profile.wrkSeconds),
      failed: { rps: NaN, p50: NaN, p99: NaN },
      fail: ctx.fail,
      label: c.label,
      describe: (r) => `${Math.round(r.rps)} req/s`
    })
    raw.cases[c.key] = { header: c.header.join(" "), runs }
    const med = (name, key) => median(runs[name].map((r) => r[key]))
    report.baseline({ name: "direct", metric: `${c.label} rate`, unit: "req/s", value: med("direct", "rps"), digits: 0 })
    report.baseline({ name: "direct", metric: `${c.label} p50 latency`, unit: "ms", value: med("direct", "p50") })
    report.baseline({ name: "direct", metric: `${c.label} p99 latency`, unit: "ms", value: med("direct", "p99") })
    for (const { name } of references) report.baseline({ name, metric: `${c.label} rate`, unit: "req/s", value: med(name, "rps"), digits: 0 })
    const directErrors = runs.direct.reduce((n, r) => n + (r.errors ? errorCount(r.errors) : 0), 0)
    if (directErrors > 0) report.note(`direct ${c.label}: wrk counted ${directErrors} socket errors / bad responses (details in the JSON runs)`)
    for (const t of tunnels) {
      const name = t.transport
      const row = { transport: name, section: "http", baselineName: "direct", runs: runs[name] }
      report.add({ ...row, metric: `${c.label} rate`, unit: "req/s", tunnel: med(name, "rps"), baseline: med("direct", "rps"), target: c.rateTarget, digits: 0 })
      report.add({ ...row, metric: `${c.label} p50 latency`, unit: "ms", tunnel: med(name, "p50"), baseline: med("direct", "p50") })
      report.add({ ...row, metric: `${c.label} p99 latency`, unit: "ms", tunnel: med(name, "p99"), baseline: med("direct", "p99"), target: c.p99Target })
      const base = baselineOf(name, ctx.transports)
      if (base) {
        report.add({ ...row, metric: `${c.label} rate, vs ${base}`, unit: "req/s", tunnel: med(name, "rps"), baseline: med(base, "rps"), baselineName: base, target: c.vsBaseline(name), digits: 0 })
      }
      for (const r of references) {
        report.add({ ...row, metric: `${c.label} rate, vs ${r.against}`, unit: "req/s", tunnel: med(name, "rps"), baseline: med(r.name, "rps"), baselineName: r.name, digits: 0 })
      }
      const errors = runs[name].reduce((n, r) => n + (r.errors ? errorCount(r.errors) : 0), 0)
      if (errors > 0) report.note(`${name} ${c.label}: wrk counted ${errors} socket errors / bad responses through the tunnel (details in the JSON runs)`)
    }
  }
  for (const t of tunnels) ctx.noteShutdown(t, await t.stop())
  for (const r of references) await r.stop()
  await server.stop()
  return raw
}
