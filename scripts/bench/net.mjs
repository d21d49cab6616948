// Loopback helpers: free ports and a one-shot echo probe.
import * as net from "node:net"

export const HOST = "127.0.0.1"

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close). */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, HOST, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

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
