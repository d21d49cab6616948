// Loopback helpers: free ports and a one-shot echo probe.
import { readFileSync } from "node:fs"
import * as net from "node:net"

export const HOST = "127.0.0.1"

// Ports come from below the kernel's ephemeral range, as src/net/FreePort.ts explains: a port 0 pick is
// in the range the load generators' own connect() calls draw from, and one of them can take it before
// the tunnel binds it. Same floor, fallback and rule as there (fewer than 1,000 ports below the range: let
// the kernel choose); a copy because the scripts run under plain Node, which cannot import that .ts module.
const span = (() => {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0])
    return (Number.isInteger(low) ? low : 32_768) - 10_000
  } catch {
    return 32_768 - 10_000
  }
})()

const bindable = (port) =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.once("error", () => resolve(undefined))
    server.listen({ port, host: HOST, exclusive: true }, () => {
      const bound = server.address().port
      server.close(() => resolve(bound))
    })
  })

/** A port that was free a moment ago on 127.0.0.1, outside the range outgoing connections use. */
export async function freePort() {
  for (let i = 0; span >= 1000 && i < 50; i++) {
    const port = await bindable(10_000 + Math.floor(Math.random() * span))
    if (port !== undefined) return port
  }
  const port = await bindable(0)
  if (port === undefined) throw new Error(`no free port on ${HOST}`)
  return port
}

/** `n` distinct free ports. */
export async function freePorts(n) {
  const ports = new Set()
  for (let i = 0; ports.size < n && i < n * 10; i++) ports.add(await freePort())
  if (ports.size < n) throw new Error(`could not find ${n} free ports`)
  return [...ports]
}

/** Connects to `port`, sends a line, resolves true once it comes back (false on error/timeout). */
export const echoOnce = (port, ms = 2_000) =>
  new Promise((resolve) => {
    const message = `probe-${Math.random().toString(36).slice(2)}\n`
    let got = ""
    const socket = net.connect({ host: HOST, port })
    const finish = (ok) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), ms)
    socket.setEncoding("utf8")
    socket.on("connect", () => socket.write(message))
    socket.on("data", (d) => {
      got += d
      if (got.length >= message.length) finish(got === message)
    })
    socket.on("error", () => finish(false))
    socket.on("close", () => finish(false))
  })

/** Retries `echoOnce` until it succeeds or `ms` has passed; resolves with the elapsed ms, or null. */
export async function echoUntil(port, ms) {
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    if (await echoOnce(port, Math.max(100, ms - (performance.now() - t0)))) return performance.now() - t0
    await new Promise((r) => setTimeout(r, 10))
  }
  return null
}
