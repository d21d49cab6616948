#!/usr/bin/env node
// Measures WebSocket implementations per runtime, on loopback (127.0.0.1), to choose the one behind the
// ws carrier: our own framing over Conn (src/transport/ws), the `ws` package, Bun's native server and
// client, Deno's Deno.upgradeWebSocket and WebSocket client. A measurement tool, not a test.
//
//   node scripts/ws-implementations.mjs [--reps 3] [--only node:ours,bun:bun,...] [--tests fwd64,rev64,...]
//                                       [--json out.json] [--quick]
//
// Tests: fwd64 / fwd16 (client -> server, 64 / 16 KiB binary messages, 1 GiB or 10 s), rev64 / rev16
// (server -> client), conn1 / conn16 (open, upgrade, echo 16 bytes, close; 1 or 16 lanes, 3 s), idle
// (2,000 idle connections: RSS delta per connection on each side), pause / rpause (the receiving side,
// server / client, pauses reading for 2 s while the other sends: how many bytes still arrive).
// Server and client are separate processes of the same runtime and implementation. CPU is the process's
// own (utime + stime from /proc/self/stat, all threads), RSS from /proc/self/statm. Senders respect
// backpressure: our Conn's write/whenDrained, ws's socket drain, Bun.serve's send() === -1 and drain, and
// for the standard WebSocket (Bun's and Deno's clients, Deno's server socket) bufferedAmount polled.
//
// The sender reuses one buffer for every message (our client masks it in place: the bytes sent are
// garbage, their count is what is measured; a tunnel's chunks are fresh socket reads it owns anyway).
// Standard WebSockets wait while bufferedAmount > WS_HIGH (8 MiB), polling until a quarter of it: with
// 1 MiB, Deno's client sent at half the rate. Knobs: WS_NODE_FLAGS / WS_BUN_FLAGS (e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof"), WS_WRAP (a wrapper per side, "{role}" replaced by server or client:
// "strace -f -c -o /tmp/st-{role}.txt"). The numbers are noisy on a shared 2-core machine: each run
// records the load average beside its numbers; trust CPU s/GiB over Gbit/s.
//
// Runs from the repo with nothing extra installed: `ws` is in node_modules (through @effect/platform-node),
// tsx, bun and deno are dev dependencies. WS_MODULE=/path/to/ws/index.js measures another copy of `ws`
// (e.g. one with bufferutil beside it). The same file is the worker, run under each runtime.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")
const isBun = typeof globalThis.Bun !== "undefined"
const isDeno = typeof globalThis.Deno !== "undefined"
const runtime = isBun ? "bun" : isDeno ? "deno" : "node"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

// ---------------------------------------------------------------------------------------------------------
// process measurements (the same on every runtime: Linux /proc)

const TICKS = 100 // USER_HZ
const cpuFields = () => {
  const s = readFileSync("/proc/self/stat", "latin1")
  return s.slice(s.lastIndexOf(")") + 2).split(" ")
}
/** user + system CPU seconds of this process, all threads */
const cpuNow = () => {
  const f = cpuFields()
  return (Number(f[11]) + Number(f[12])) / TICKS
}
/** system (kernel) CPU seconds alone */
const sysNow = () => Number(cpuFields()[12]) / TICKS
const rssNow = () => Number(readFileSync("/proc/self/statm", "latin1").split(" ")[1]) * 4096
const gcNow = () => {
  if (isBun) globalThis.Bun.gc(true)
  else if (typeof globalThis.gc === "function") {
    globalThis.gc()
    globalThis.gc()
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n")

// ---------------------------------------------------------------------------------------------------------
// implementations: each gives listen(onConn) -> port and connect(port) -> peer, a peer being
//   send(buf) -> boolean (false: wait for waitDrain), waitDrain(cb), onData(fn(chunk)), onClose(fn),
//   close() (graceful), pause(), resume(), canPause

class Peer {
  dataFn = undefined
  early = []
  closeFn = undefined
  closed = false
  canPause = false
  _data(chunk) {
    if (this.dataFn !== undefined) this.dataFn(chunk)
    else this.early.push(chunk)
  }
  onData(fn) {
    this.dataFn = fn
    const early = this.early
    this.early = []
    for (const c of early) fn(c)
  }
  _closed() {
    if (this.closed) return
    this.closed = true
    this.closeFn?.()
  }
  onClose(fn) {
    this.closeFn = fn
    if (this.closed) fn()
  }
  pause() {}
  resume() {}
}

/** The standard WebSocket's only backpressure signal: bufferedAmount, polled. */
const HIGH = Number(process.env.WS_HIGH ?? 8 * MiB)
const LOW = HIGH / 4
const pollUntilLow = (buffered, cb) => {
  const check = () => (buffered() <= LOW ? cb() : setTimeout(check, 0))
  setTimeout(check, 0)
}

/** A standard (WHATWG) WebSocket: Bun's and Deno's clients, Deno's server socket. */
class StandardPeer extends Peer {
  constructor(ws) {
    super()
    this.ws = ws
    ws.binaryType = "arraybuffer"
    ws.onmessage = (e) => this._data(e.data)
    ws.onclose = () => this._closed()
    ws.onerror = () => {}
    if (typeof ws.pause === "function") this.canPause = true // Bun's client
  }
  send(buf) {
    this.ws.send(buf)
    return this.ws.bufferedAmount < HIGH
  }
  waitDrain(cb) {
    pollUntilLow(() => this.ws.bufferedAmount, cb)
  }
  close() {
    this.ws.close(1000)
  }
  pause() {
    this.ws.pause?.()
  }
  resume() {
    this.ws.resume?.()
  }
}

const standardConnect = (port) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    const peer = new StandardPeer(ws)
    ws.onopen = () => resolve(peer)
    ws.onerror = () => reject(new Error("WebSocket error"))
  })

const ours = async () => {
  const { WsConn } = await import("../src/transport/ws/WsConn.ts")
  const keys = new (await import("../src/transport/ws/Frame.ts")).MaskKeys()
  const Upgrade = await import("../src/transport/ws/Upgrade.ts")
  const TrustedProxies = await import("../src/transport/ws/TrustedProxies.ts")
  const useBun = isBun && process.env.BACKHAUL_SOCKETS !== "node"
  const { backend } = useBun ? await import("../src/net/BunConn.ts") : await import("../src/net/NodeConn.ts")
  const socketOptions = { nodelay: true, keepaliveSeconds: 0 }
  const serverOptions = { path: "/", trusted: TrustedProxies.make([]) }
  class OursPeer extends Peer {
    canPause = true
    constructor(ws) {
      super()
      this.ws = ws
      ws.onClose(() => this._closed())
      ws.forward({ write: (c) => (this._data(c), true), end: () => {}, whenDrained: () => {} })
    }
    send(buf) {
      return this.ws.write(buf)
    }
    waitDrain(cb) {
      this.ws.whenDrained({ resume: cb })
    }
    close() {
      this.ws.end()
    }
    pause() {
      this.ws.pause()
    }
    resume() {
      this.ws.resume()
    }
  }
  return {
    name: `ours (${backend.name} sockets)`,
    listen: (onConn) =>
      new Promise((resolve, reject) =>
        backend.listen("127.0.0.1", 0, socketOptions, (conn) => {
          Upgrade.accept(conn, serverOptions, (error, forwarded) => {
            if (error === undefined) onConn(new OursPeer(new WsConn(conn, undefined, forwarded)))
          })
        }, (error, listener) => (error ? reject(error) : resolve(listener.port)))),
    connect: (port) =>
      new Promise((resolve, reject) =>
        backend.connect("127.0.0.1", port, socketOptions, (error, conn) => {
          if (error) return reject(error)
          Upgrade.request(conn, { host: `127.0.0.1:${port}`, path: "/" }, (failure) => {
            if (failure) {
              conn.destroy()
              return reject(new Error(failure.detail))
            }
            resolve(new OursPeer(new WsConn(conn, keys, undefined)))
          })
        }))
  }
}

const wsPackage = async () => {
  const require = createRequire(import.meta.url)
  const WS = require(process.env.WS_MODULE ?? "ws")
  let bufferutil = false
  try {
    createRequire(require.resolve(process.env.WS_MODULE ?? "ws"))("bufferutil")
    bufferutil = !process.env.WS_NO_BUFFER_UTIL
  } catch { /* the pure-JavaScript masking */ }
  class WsPeer extends Peer {
    constructor(ws) {
      super()
      this.ws = ws
      this.canPause = typeof ws.pause === "function"
      ws.on("message", (data) => this._data(data))
      ws.on("close", () => this._closed())
      ws.on("error", () => {})
      // the socket's drain where there is one (Node); Bun's `ws` has none: bufferedAmount, polled
      this.socket = ws._socket !== undefined && typeof ws._socket.once === "function" ? ws._socket : undefined
    }
    send(buf) {
      this.ws.send(buf, { binary: true })
      return this.socket !== undefined ? !this.socket.writableNeedDrain : this.ws.bufferedAmount < HIGH
    }
    waitDrain(cb) {
      if (this.socket !== undefined) this.socket.once("drain", cb)
      else pollUntilLow(() => this.ws.bufferedAmount, cb)
    }
    close() {
      this.ws.close(1000)
    }
    pause() {
      this.ws.pause()
    }
    resume() {
      this.ws.resume()
    }
  }
  return {
    name: `ws${isBun ? " (Bun's built-in ws)" : bufferutil ? " + bufferutil" : " (JavaScript masking)"}`,
    listen: (onConn) =>
      new Promise((resolve, reject) => {
        const server = new WS.WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * MiB })
        server.on("connection", (ws) => onConn(new WsPeer(ws)))
        server.on("listening", () => resolve(server.address().port))
        server.on("error", reject)
      }),
    connect: (port) =>
      new Promise((resolve, reject) => {
        const ws = new WS(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 64 * MiB })
        ws.once("error", reject)
        ws.once("open", () => {
          ws.off("error", reject)
          resolve(new WsPeer(ws))
        })
      })
  }
}

const bunNative = async () => {
  class BunServerPeer extends Peer {
    canPause = true
    drainFn = undefined
    drops = 0
    constructor(ws) {
      super()
      this.ws = ws
    }
    send(buf) {
      const n = this.ws.send(buf) // bytes sent; -1 queued under backpressure; 0 dropped
      if (n === 0) this.drops++
      return n > 0
    }
    waitDrain(cb) {
      this.drainFn = cb
    }
    close() {
      this.ws.close(1000)
    }
    pause() {
      this.ws.pause()
    }
    resume() {
      this.ws.resume()
    }
  }
  return {
    name: "Bun.serve + Bun WebSocket client",
    listen: async (onConn) => {
      const server = globalThis.Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch(req, server) {
          if (server.upgrade(req, { data: { peer: undefined } })) return undefined
          return new Response("not a WebSocket upgrade", { status: 426 })
        },
        websocket: {
          perMessageDeflate: false,
          maxPayloadLength: 64 * MiB,
          open(ws) {
            ws.data.peer = new BunServerPeer(ws)
            onConn(ws.data.peer)
          },
          message(ws, message) {
            ws.data.peer._data(message)
          },
          drain(ws) {
            const peer = ws.data.peer
            const f = peer.drainFn
            peer.drainFn = undefined
            f?.()
          },
          close(ws) {
            ws.data.peer._closed()
          }
        }
      })
      return server.port
    },
    connect: standardConnect
  }
}

const denoNative = async () => ({
  name: "Deno.upgradeWebSocket + WebSocket client",
  listen: (onConn) =>
    new Promise((resolve) => {
      const server = globalThis.Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => resolve(port) }, (req) => {
        const { socket, response } = globalThis.Deno.upgradeWebSocket(req)
        socket.onopen = () => onConn(new StandardPeer(socket))
        return response
      })
      void server
    }),
  connect: standardConnect
})

const implementations = { ours, ws: wsPackage, bun: bunNative, deno: denoNative }

// ---------------------------------------------------------------------------------------------------------
// the worker: one side of one test

/** Sends `size`-byte messages until `total` bytes or `ms` passed, respecting backpressure. */
const pump = (peer, size, total, ms, done) => {
  const buf = Buffer.alloc(size, 0x61)
  const t0 = performance.now()
  let sent = 0
  const loop = () => {
    while (sent < total && !peer.closed) {
      if (performance.now() - t0 > ms) break
      sent += size
      if (!peer.send(buf)) return peer.waitDrain(loop)
    }
    done(sent, (performance.now() - t0) / 1000)
  }
  loop()
}

/** Counts what arrives: bytes, and the time from the first to the last chunk. */
class Counter {
  bytes = 0
  first = 0
  last = 0
  add(chunk) {
    const t = performance.now()
    if (this.bytes === 0) this.first = t
    this.bytes += chunk.byteLength
    this.last = t
  }
  get secs() {
    return (this.last - this.first) / 1000
  }
}

/** Pauses reading once `after` bytes arrived, for `ms`; counts what still arrives meanwhile. */
const pauser = (peer, counter, after, ms) => {
  const state = { pausedAt: -1, duringPause: 0, done: false }
  peer.onData((c) => {
    counter.add(c)
    if (state.pausedAt < 0 && counter.bytes >= after) {
      state.pausedAt = counter.bytes
      peer.pause()
      setTimeout(() => {
        state.duringPause = counter.bytes - state.pausedAt
        state.done = true
        peer.resume()
      }, ms)
    }
  })
  return state
}

const lines = (onLine) => {
  let buf = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (d) => {
    buf += d
    let i
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim()
      buf = buf.slice(i + 1)
      if (line) onLine(line)
    }
  })
}

const server = async (api, test, p) => {
  const counter = new Counter()
  let cpu0 = cpuNow()
  let sys0 = sysNow()
  let rss0 = rssNow()
  let conns = 0
  let open = 0
  let pauseState
  let sent = 0
  const peers = []
  const port = await api.listen((peer) => {
    conns++
    open++
    peer.onClose(() => open--)
    if (test === "idle") peers.push(peer)
    if (test === "fwd") peer.onData((c) => counter.add(c))
    else if (test === "pause") pauseState = pauser(peer, counter, MiB, p.pauseMs)
    else if (test === "echo" || test === "idle") peer.onData((c) => peer.send(c))
    else if (test === "rev") {
      peer.onData(() => {})
      pump(peer, p.size, p.bytes, p.ms, (n) => {
        sent = n
        peer.close()
      })
    }
  })
  lines(async (line) => {
    if (line === "mark") {
      gcNow()
      await sleep(300)
      gcNow()
      cpu0 = cpuNow()
      sys0 = sysNow()
      rss0 = rssNow()
      out({ event: "marked", rss0 })
    } else if (line === "report") {
      gcNow()
      await sleep(200)
      gcNow()
      out({
        event: "report",
        bytes: counter.bytes,
        secs: counter.secs,
        sent,
        cpu: cpuNow() - cpu0,
        sys: sysNow() - sys0,
        rss0,
        rss: rssNow(),
        conns,
        open,
        drops: peers.reduce((n, x) => n + (x.drops ?? 0), 0),
        pause: pauseState
      })
    } else if (line === "quit") process.exit(0)
  })
  out({ event: "listening", port, name: api.name })
}

const client = async (api, test, port, p) => {
  const deadline = setTimeout(() => {
    out({ event: "error", error: "client timed out" })
    process.exit(3)
  }, (p.ms ?? 10_000) + 30_000)
  const cpu0 = cpuNow()
  const sys0 = sysNow()
  if (test === "fwd" || test === "pause") {
    const peer = await api.connect(port)
    peer.onData(() => {})
    const t0 = performance.now()
    pump(peer, p.size, p.bytes, p.ms, (sent, secs) => {
      peer.onClose(() => {
        out({ event: "result", sent, sendSecs: secs, closedSecs: (performance.now() - t0) / 1000, cpu: cpuNow() - cpu0, sys: sysNow() - sys0, rss: rssNow() })
        process.exit(0)
      })
      peer.close()
    })
  } else if (test === "rev" || test === "rpause") {
    const counter = new Counter()
    const peer = await api.connect(port)
    const state = test === "rpause" ? pauser(peer, counter, MiB, p.pauseMs) : (peer.onData((c) => counter.add(c)), undefined)
    peer.onClose(() => {
      out({ event: "result", bytes: counter.bytes, secs: counter.secs, cpu: cpuNow() - cpu0, sys: sysNow() - sys0, rss: rssNow(), pause: state })
      process.exit(0)
    })
  } else if (test === "conn") {
    const small = Buffer.alloc(16, 0x62)
    const end = performance.now() + p.ms
    let done = 0
    let errors = 0
    const lane = async () => {
      while (performance.now() < end) {
        try {
          const peer = await api.connect(port)
          await new Promise((resolve) => {
            peer.onData(() => peer.close())
            peer.onClose(resolve)
            peer.send(small)
          })
          done++
        } catch {
          errors++
          await sleep(10)
        }
      }
    }
    const t0 = performance.now()
    await Promise.all(Array.from({ length: p.lanes }, lane))
    const secs = (performance.now() - t0) / 1000
    out({ event: "result", done, errors, secs, rate: done / secs, cpu: cpuNow() - cpu0 })
    process.exit(0)
  } else if (test === "idle") {
    const small = Buffer.alloc(16, 0x62)
    gcNow()
    await sleep(200)
    gcNow()
    const rss0 = rssNow()
    const peers = []
    let next = 0
    let errors = 0
    const t0 = performance.now()
    const lane = async () => {
      while (next < p.count) {
        next++
        try {
          const peer = await api.connect(port)
          await new Promise((resolve) => {
            peer.onData(resolve)
            peer.send(small)
          })
          peer.onData(() => {})
          peers.push(peer)
        } catch {
          errors++
        }
      }
    }
    await Promise.all(Array.from({ length: 32 }, lane))
    const openSecs = (performance.now() - t0) / 1000
    await sleep(1000)
    gcNow()
    await sleep(200)
    gcNow()
    const rss = rssNow()
    const open = peers.filter((x) => !x.closed).length
    out({ event: "result", open, errors, openSecs, rss0, rss, perConn: (rss - rss0) / Math.max(1, open) })
    clearTimeout(deadline)
    lines((line) => line === "quit" && process.exit(0)) // holds the connections until told
  }
}

const worker = async (role, impl, test, port, params) => {
  const api = await implementations[impl]()
  const p = JSON.parse(params)
  if (role === "server") await server(api, test, p)
  else await client(api, test, Number(port), p)
}

// ---------------------------------------------------------------------------------------------------------
// the orchestrator (under Node): starts both sides of each test, collects, prints medians

const exes = {
  node: (args) => [process.execPath, ["--import", "tsx", "--expose-gc", ...(process.env.WS_NODE_FLAGS?.split(" ").filter(Boolean) ?? []), fileURLToPath(import.meta.url), ...args]],
  bun: (args) => [join(root, "node_modules", ".bin", "bun"), [...(process.env.WS_BUN_FLAGS?.split(" ").filter(Boolean) ?? []), fileURLToPath(import.meta.url), ...args]],
  deno: (args) => [join(root, "node_modules", ".bin", "deno"), ["run", "-A", "--quiet", "--v8-flags=--expose-gc", fileURLToPath(import.meta.url), ...args]]
}

const MATRIX = [
  ["node", "ours"],
  ["node", "ws"],
  ["bun", "ours"],
  ["bun", "ws"],
  ["bun", "bun"],
  ["deno", "ours"],
  ["deno", "ws"],
  ["deno", "deno"]
]

const TESTS = {
  fwd64: { kind: "fwd", p: { size: 64 * KiB, bytes: GiB, ms: 10_000 } },
  fwd16: { kind: "fwd", p: { size: 16 * KiB, bytes: GiB, ms: 10_000 } },
  rev64: { kind: "rev", p: { size: 64 * KiB, bytes: GiB, ms: 10_000 } },
  rev16: { kind: "rev", p: { size: 16 * KiB, bytes: GiB, ms: 10_000 } },
  conn1: { kind: "conn", p: { lanes: 1, ms: 3000 } },
  conn16: { kind: "conn", p: { lanes: 16, ms: 3000 } },
  idle: { kind: "idle", p: { count: 2000 } },
  pause: { kind: "pause", p: { size: 64 * KiB, bytes: 1e15, ms: 4000, pauseMs: 2000 } },
  rpause: { kind: "rpause", p: { size: 64 * KiB, bytes: 1e15, ms: 4000, pauseMs: 2000 } }
}

const children = new Set()

/** A worker process with its stdout as JSON events. */
const start = (rt, args, env) => {
  let [exe, argv] = exes[rt](args)
  if (process.env.WS_WRAP) {
    // a wrapper for one side, e.g. WS_WRAP="strace -f -c -o /tmp/strace-{role}.txt" ({role}: server or client)
    const wrap = process.env.WS_WRAP.replaceAll("{role}", args[1]).split(" ").filter(Boolean)
    argv = [...wrap.slice(1), exe, ...argv]
    exe = wrap[0]
  }
  const child = spawn(exe, argv, { cwd: root, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } })
  children.add(child)
  const waiters = []
  const events = []
  let buf = ""
  let stderr = ""
  child.stdout.setEncoding("utf8")
  child.stdout.on("data", (d) => {
    buf += d
    let i
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      let ev
      try {
        ev = JSON.parse(line)
      } catch {
        continue
      }
      events.push(ev)
      for (const w of [...waiters]) w()
    }
  })
  child.stderr.on("data", (d) => (stderr += d).length > 20000 && (stderr = stderr.slice(-10000)))
  child.on("exit", () => {
    children.delete(child)
    for (const w of [...waiters]) w()
  })
  const next = (name, ms) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const i = events.findIndex((e) => e.event === name || e.event === "error")
        if (i >= 0) {
          const [ev] = events.splice(i, 1)
          cleanup()
          return ev.event === "error" ? reject(new Error(ev.error)) : resolve(ev)
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          cleanup()
          reject(new Error(`${rt} ${args.slice(0, 3).join(" ")} exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-2000)}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`${rt} ${args.slice(0, 3).join(" ")}: no ${name} within ${ms} ms; stderr: ${stderr.slice(-2000)}`))
      }, ms)
      const cleanup = () => {
        clearTimeout(timer)
        const k = waiters.indexOf(check)
        if (k >= 0) waiters.splice(k, 1)
      }
      waiters.push(check)
      check()
    })
  const send = (line) => child.stdin.writable && child.stdin.write(line + "\n")
  const stop = async () => {
    send("quit")
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise((r) => {
      const t = setTimeout(() => (child.kill("SIGKILL"), r()), 10_000)
      child.once("exit", () => (clearTimeout(t), r()))
    })
  }
  return { child, next, send, stop }
}

const runOnce = async (rt, impl, test, env) => {
  const { kind, p } = TESTS[test]
  const serverTest = kind === "conn" ? "echo" : kind === "rpause" ? "rev" : kind
  const srv = start(rt, ["worker", "server", impl, serverTest, "0", JSON.stringify(p)], env)
  let cli
  try {
    const { port, name } = await srv.next("listening", 30_000)
    srv.send("mark")
    await srv.next("marked", 10_000)
    cli = start(rt, ["worker", "client", impl, kind, String(port), JSON.stringify(p)], env)
    const result = await cli.next("result", 60_000)
    await sleep(kind === "idle" ? 500 : 100)
    srv.send("report")
    const report = await srv.next("report", 20_000)
    return { name, client: result, server: report }
  } finally {
    await cli?.stop()
    await srv.stop()
  }
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** The numbers one run of a test gives. */
const summarize = (test, r) => {
  const kind = TESTS[test].kind
  if (kind === "fwd") {
    const gib = r.server.bytes / GiB
    return { gbps: (r.server.bytes * 8) / r.server.secs / 1e9, clientCpuPerGiB: r.client.cpu / gib, serverCpuPerGiB: r.server.cpu / gib, clientSysPerGiB: r.client.sys / gib, serverSysPerGiB: r.server.sys / gib, GiB: gib }
  }
  if (kind === "rev") {
    const gib = r.client.bytes / GiB
    return { gbps: (r.client.bytes * 8) / r.client.secs / 1e9, clientCpuPerGiB: r.client.cpu / gib, serverCpuPerGiB: r.server.cpu / gib, clientSysPerGiB: r.client.sys / gib, serverSysPerGiB: r.server.sys / gib, GiB: gib }
  }
  if (kind === "conn") return { rate: r.client.rate, errors: r.client.errors }
  if (kind === "idle") {
    return {
      clientKiB: r.client.perConn / KiB,
      serverKiB: (r.server.rss - r.server.rss0) / Math.max(1, r.server.open) / KiB,
      open: r.client.open,
      serverOpen: r.server.open
    }
  }
  if (kind === "pause") return { duringPauseKiB: r.server.pause?.duringPause / KiB, sentMiB: r.client.sent / MiB, senderRssMiB: r.client.rss / MiB }
  if (kind === "rpause") return { duringPauseKiB: r.client.pause?.duringPause / KiB, sentMiB: r.server.sent / MiB, senderRssMiB: r.server.rss / MiB }
  return {}
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "—")

const main = async () => {
  const argv = process.argv.slice(2)
  const opt = (name, dflt) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : dflt
  }
  const reps = Number(opt("--reps", "3"))
  const only = opt("--only", undefined)?.split(",")
  const tests = opt("--tests", Object.keys(TESTS).join(",")).split(",")
  const jsonPath = opt("--json", undefined)
  if (argv.includes("--quick")) {
    // a smoke run: everything smaller
    for (const t of Object.values(TESTS)) {
      if (t.p.bytes === GiB) Object.assign(t.p, { bytes: 64 * MiB, ms: 2000 })
      if (t.p.lanes !== undefined) t.p.ms = 1000
      if (t.p.count !== undefined) t.p.count = 200
    }
  }
  const matrix = MATRIX.filter(([rt, impl]) => only === undefined || only.includes(`${rt}:${impl}`))
  const extraEnv = process.env.WS_EXTRA_ENV ? JSON.parse(process.env.WS_EXTRA_ENV) : {}
  const all = {}
  for (const [rt, impl] of matrix) {
    const key = `${rt}:${impl}`
    all[key] = { runs: {} }
    for (const test of tests) {
      const runs = []
      for (let i = 0; i < reps; i++) {
        try {
          const r = await runOnce(rt, impl, test, extraEnv)
          all[key].name = r.name
          const s = { ...summarize(test, r), load1: loadavg()[0] }
          runs.push(s)
          console.error(`${key} ${test} #${i + 1}: ${JSON.stringify(s, (_, v) => (typeof v === "number" ? Number(v.toFixed(3)) : v))}`)
        } catch (e) {
          console.error(`${key} ${test} #${i + 1}: FAILED ${e.message.split("\n")[0]}`)
          runs.push({ error: e.message.slice(0, 500) })
        }
        if (TESTS[test].kind === "conn") await sleep(1000) // let TIME_WAIT settle a little
      }
      const fields = [...new Set(runs.flatMap((r) => Object.keys(r)))].filter((f) => f !== "error")
      all[key].runs[test] = { runs, median: Object.fromEntries(fields.map((f) => [f, median(runs.map((r) => r[f]))])) }
    }
  }
  // the table
  const m = (key, test, f) => all[key]?.runs[test]?.median[f]
  const rows = [
    "| runtime:impl | fwd64 Gbit/s | rev64 Gbit/s | fwd16 | rev16 | CPU s/GiB fwd64 (cli+srv) | CPU s/GiB rev64 (cli+srv) | conn/s 1 / 16 lanes | KiB/idle conn (cli / srv) | KiB arriving in 2 s pause (srv / cli recv) |",
    "|---|---|---|---|---|---|---|---|---|---|"
  ]
  for (const key of Object.keys(all)) {
    rows.push(
      `| ${key} | ${fmt(m(key, "fwd64", "gbps"))} | ${fmt(m(key, "rev64", "gbps"))} | ${fmt(m(key, "fwd16", "gbps"))} | ${fmt(m(key, "rev16", "gbps"))} | ` +
        `${fmt(m(key, "fwd64", "clientCpuPerGiB"))}+${fmt(m(key, "fwd64", "serverCpuPerGiB"))} | ${fmt(m(key, "rev64", "clientCpuPerGiB"))}+${fmt(m(key, "rev64", "serverCpuPerGiB"))} | ` +
        `${fmt(m(key, "conn1", "rate"), 0)} / ${fmt(m(key, "conn16", "rate"), 0)} | ${fmt(m(key, "idle", "clientKiB"), 1)} / ${fmt(m(key, "idle", "serverKiB"), 1)} | ` +
        `${fmt(m(key, "pause", "duringPauseKiB"), 0)} / ${fmt(m(key, "rpause", "duringPauseKiB"), 0)} |`
    )
  }
  console.log(rows.join("\n"))
  for (const key of Object.keys(all)) console.log(`${key}: ${all[key].name ?? "?"}`)
  if (jsonPath) {
    const { writeFileSync } = await import("node:fs")
    writeFileSync(jsonPath, JSON.stringify(all, null, 2))
  }
}

if (process.argv[2] === "worker") {
  const [role, impl, test, port, params] = process.argv.slice(3)
  worker(role, impl, test, port, params).catch((e) => {
    out({ event: "error", error: String(e?.stack ?? e) })
    process.exit(2)
  })
} else if (runtime === "node") {
  const killAll = () => {
    for (const c of children) c.kill("SIGKILL")
  }
  process.on("exit", killAll)
  for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => (killAll(), process.exit(130)))
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
} else {
  console.error("run the orchestrator under Node: node scripts/ws-implementations.mjs")
  process.exit(2)
}
