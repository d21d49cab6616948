// One transport's soak: an echo target, the compiled binary's server and client (scripts/bench/tunnel.mjs),
// and the load generator (children/load.mjs) at one user port; samples of both tunnel processes from
// /proc and of the load's counters every interval; at the end the load stops, every byte and holder is
// checked once more, and the fds are read again once the tunnel is idle.
import { fileURLToPath } from "node:url"
import { freePorts } from "../bench/net.mjs"
import * as procs from "../bench/procs.mjs"
import * as tunnel from "../bench/tunnel.mjs"
import * as proc from "./proc.mjs"
import { LIMITS } from "./verdict.mjs"

const echoChild = fileURLToPath(new URL("../bench/children/echo-server.mjs", import.meta.url))
const loadChild = fileURLToPath(new URL("./children/load.mjs", import.meta.url))

/** Quiet time before the idle readings (past the processes' start-up memory release, see bench's quick profile). */
const SETTLE_MS = 3_000
const MAX_DISTINCT_PROBLEMS = 10

/**
 * Follows a tunnel process's log from now on: lines at WARN or worse (the first distinct ones kept, all
 * counted) and, on the client, later "connected to" lines (each one a reconnect after a lost session).
 */
function watchLog(handle, side) {
  const log = { side, problems: 0, distinct: [], reconnects: 0 }
  handle.watchers.add((line) => {
    if (line === null) return
    if (side === "client" && /connected to /.test(line)) log.reconnects++
    if (!/level=(WARN|ERROR|FATAL)/.test(line)) return
    log.problems++
    const text = line.replace(/^timestamp=\S+ /, "").replace(/ fiber=#\d+/, "")
    if (log.distinct.length < MAX_DISTINCT_PROBLEMS && !log.distinct.includes(text)) log.distinct.push(text)
  })
  return log
}

const errorCount = (c) =>
  Object.values(c.bulk.errors).reduce((a, b) => a + b, 0) +
  c.bulk.corrupt +
  Object.values(c.short.errors).reduce((a, b) => a + b, 0) +
  c.holders.openFailed +
  c.holders.dropped +
  Object.values(c.holders.touchErrors).reduce((a, b) => a + b, 0)

/** A sample from two /proc readings of each process and two load counter sets `dt` seconds apart. */
function derive(t, dt, prev, now) {
  const side = (p, n) => ({ rssMB: n.rssMB, anonMB: n.anonMB, fds: n.fds, cpuPct: dt > 0 ? (100 * (n.cpuS - p.cpuS)) / dt : NaN })
  const rate = (a, b) => (dt > 0 ? (b - a) / dt : NaN)
  return {
    t,
    server: side(prev.server, now.server),
    client: side(prev.client, now.client),
    bulkMiBps: rate(prev.load.bulk.echoedBytes, now.load.bulk.echoedBytes) / 2 ** 20,
    connsPerS: rate(prev.load.short.ok, now.load.short.ok),
    latencyMs: now.load.short.latencyMs,
    held: now.load.holders.open,
    skipped: now.load.short.skipped,
    lostBytes: now.load.bulk.lostBytes,
    errors: errorCount(now.load)
  }
}

/** Throws when a process the soak depends on has exited. */
function alive(handles) {
  for (const h of handles) {
    if (h.exitCode !== undefined) throw new Error(`${h.name} exited (${h.exitCode}) during the soak\n${procs.tail(h)}`)
  }
}

/**
 * How long the fds may take to come back once the load has stopped. The pooled transports keep the
 * data channels a burst opened beyond the pool size until they have been idle for 30 s (DataPool's
 * SURPLUS_IDLE_MILLIS), trimmed at the next heartbeat (10 s): 40 s, and some margin. The streams
 * transports close a stream with its connection, and come back within a second.
 */
export const RETURN_MS = 60_000

/**
 * Reads both tunnel processes every second until each is back to at most LIMITS.fdReturn fds above its
 * reading before the load, or RETURN_MS has passed. Resolves with the last readings and `returnMs`.
 */
async function settled(t, before) {
  const t0 = performance.now()
  for (;;) {
    await procs.sleep(1_000)
    alive([t.server, t.client])
    const now = { server: proc.read(t.server.pid), client: proc.read(t.client.pid) }
    const back = ["server", "client"].every((side) => now[side].fds <= before[side].fds + LIMITS.fdReturn)
    const ms = performance.now() - t0
    if (back || ms >= RETURN_MS) return { ...now, returnMs: back ? ms : null }
  }
}

const jsonLine = async (handle, regex, ms) => JSON.parse(await handle.waitFor(regex, ms))

/**
 * Soaks `transport` for `seconds` of load, sampling every `intervalS`. `load` holds the load generator's
 * rates; `onSample(sample)` is called as each sample is taken. Resolves with everything measured; a
 * process that would not start or that died is reported in `error` with what was measured until then.
 */
export async function soak({ binary, transport, seconds, intervalS, load, extra, onSample }) {
  const result = { transport, before: undefined, after: undefined, samples: [], final: undefined, logs: [], shutdown: undefined, error: undefined }
  const [echoPort, userPort] = await freePorts(2)
  let echo
  let t
  let generator
  try {
    echo = procs.start(`echo target (${transport})`, process.execPath, [echoChild, String(echoPort)], { stdin: "pipe" })
    await echo.waitFor(/^listening/, 10_000)
    t = await tunnel.start({ binary, transport, ports: [tunnel.mapping(userPort, echoPort)], extra })
    result.logs = [watchLog(t.server, "server"), watchLog(t.client, "client")]
    await procs.sleep(SETTLE_MS)
    result.before = { server: proc.read(t.server.pid), client: proc.read(t.client.pid) }

    const options = JSON.stringify({ port: userPort, ...load })
    generator = procs.start(`soak load (${transport})`, process.execPath, [loadChild, options], { stdin: "pipe" })
    const ready = await jsonLine(generator, /"event":"ready"/, 60_000)
    const watched = [echo, t.server, t.client, generator]
    const t0 = performance.now()
    let prev = { at: t0, server: proc.read(t.server.pid), client: proc.read(t.client.pid), load: ready }
    result.samples.push(derive(0, 0, prev, prev))
    onSample?.(result.samples[0])
    for (let i = 1; i * intervalS <= seconds + 1e-9; i++) {
      await procs.sleep(t0 + i * intervalS * 1000 - performance.now())
      alive(watched)
      const at = performance.now()
      const reading = { server: proc.read(t.server.pid), client: proc.read(t.client.pid) }
      generator.child.stdin.write(`sample ${i}\n`)
      const counters = await jsonLine(generator, new RegExp(`"seq":${i},`), 30_000)
      const now = { at, ...reading, load: counters }
      const sample = derive((at - t0) / 1000, (at - prev.at) / 1000, prev, now)
      result.samples.push(sample)
      onSample?.(sample)
      prev = now
    }
    generator.child.stdin.write("stop\n")
    result.final = await jsonLine(generator, /"event":"stopped"/, 60_000)
    result.final.errors = errorCount(result.final)
    await generator.stop(5_000)
    result.after = await settled(t, result.before)
  } catch (e) {
    result.error = e.message
  } finally {
    if (generator) await generator.stop(2_000)
    if (t) result.shutdown = await t.stop()
    if (echo) await echo.stop(2_000)
  }
  return result
}
