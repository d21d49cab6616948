// The second reference of the http section: two HAProxy processes in a row (Debian's `haproxy`, plain
// TCP mode, one thread each). A mature event-driven relay written in C, on the same two extra processes
// and hops as a tunnel: it shows what two hops cost on this machine when neither hop runs a JavaScript
// runtime. Not a target: a reference. Left out, with a note, when `haproxy` is not installed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePorts, HOST } from "./net.mjs"
import * as procs from "./procs.mjs"
import { has } from "./tools.mjs"

/**
 * One hop's configuration. HAProxy wants two descriptors per connection and a few of its own, so
 * `maxconn` follows the descriptor limit its process gets.
 */
const config = (listenPort, targetPort) => `global
  nbthread 1
  maxconn ${Math.floor((procs.childFdLimit - 200) / 2)}
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend in
  bind ${HOST}:${listenPort}
  default_backend out
backend out
  server target ${HOST}:${targetPort}
`

/** Resolves once something accepts TCP connections on `port` (HAProxy prints nothing when ready). */
async function listening(handle, port, ms) {
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    if (handle.exitCode !== undefined) throw new Error(`${handle.name} exited (${handle.exitCode})\n${procs.tail(handle)}`)
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ host: HOST, port })
      const finish = (result) => {
        socket.destroy()
        resolve(result)
      }
      socket.once("connect", () => finish(true))
      socket.once("error", () => finish(false))
      socket.setTimeout(500, () => finish(false))
    })
    if (ok) return
    await procs.sleep(20)
  }
  throw new Error(`${handle.name}: not listening on ${port} within ${ms} ms\n${procs.tail(handle)}`)
}

/**
 * Starts user port → HAProxy → HAProxy → `targetPort`. Resolves `{ port, stop }`, or `{ missing }` saying
 * why it cannot run.
 */
export async function startHaproxyTwoHop(targetPort) {
  if (!has("haproxy")) return { missing: "`haproxy` is not installed (Debian package `haproxy`)" }
  const dir = mkdtempSync(join(tmpdir(), "backhaul-bench-haproxy-"))
  const [front, middle] = await freePorts(2)
  const hop = (name, listenPort, toPort) => {
    const file = join(dir, `${name.replace(/ /g, "-")}.cfg`)
    writeFileSync(file, config(listenPort, toPort))
    return procs.start(name, "haproxy", ["-db", "-f", file])
  }
  const second = hop("haproxy hop 2", middle, targetPort)
  const first = hop("haproxy hop 1", front, middle)
  const stop = async () => {
    await Promise.all([first.stop(), second.stop()])
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await listening(second, middle, 10_000)
    await listening(first, front, 10_000)
  } catch (e) {
    await stop()
    return { missing: `HAProxy did not start: ${e.message}` }
  }
  return { port: front, stop }
}
