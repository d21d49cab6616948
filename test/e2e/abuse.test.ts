/**
 * Abuse of the tunnel port over real loopback sockets (issue 13, part C, "Abuse"):
 * - slowloris peers, trickling a valid opening one byte every 1.5 s — the tunnel's hello (tcp, tcpmux),
 *   the HTTP upgrade (ws, wsmux, wss), the hello inside WebSocket frames after a quick upgrade, and both
 *   in turn — are each dropped at the handshake deadline (`dial_timeout`) however steadily bytes come,
 *   and counted, while a good client carries hashed bytes;
 * - a peer that half-closes in the middle of its HTTP head is closed (found by test/fuzz/LiveServer);
 * - 10,000 junk connections (silent, garbage, truncated HTTP) at once against the tunnel port, from a
 *   child process with its own descriptor limit: a legitimate client connects in the middle of them and
 *   carries hashed traffic, every junk connection is ended by the server by its deadline, and the
 *   server's descriptors come back down after. RSS and the refusals are written to
 *   test-results/abuse/<transport>.json (docs/reliability.md, "Abuse").
 *
 * `ABUSE_JUNK` sets the junk count (10,000 by default).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as tls from "node:tls"
import * as P from "../../src/protocol/Protocol.ts"
import { wireName, wsFrames } from "../helpers/BadPeers.ts"
import * as Certs from "../helpers/Certs.ts"
import {
  clientConfig,
  echoSetup,
  eventually,
  mapping,
  serverConfig,
  startClient,
  startServer,
  type StreamTransport,
  transportConfigs
} from "../helpers/Harness.ts"
import * as Processes from "../helpers/Processes.ts"
import { within } from "../helpers/Fuzz.ts"
import { transfer } from "../helpers/Sockets.ts"

const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

const PATH = "/tunnel"
/** the server's dial_timeout in the slowloris tests, seconds */
const DEADLINE = 3
const TRICKLE_MILLIS = 1_500

const upgradeRequest = Buffer.from(
  `GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  "latin1"
)

/** A valid control hello for `transport`, as its client would send it. */
const hello = (transport: StreamTransport) =>
  P.encodeClientHello({ kind: "control", transport: wireName(transport), nonce: Buffer.alloc(32, 9) })

/** What a slowloris peer sends: `quick` at once, then `slow` one byte (or one frame per byte) every 1.5 s. */
interface Trickle {
  readonly quick: Buffer
  readonly slow: ReadonlyArray<Buffer>
}

const bytesOf = (b: Buffer): Array<Buffer> => [...b].map((x) => Buffer.of(x))

/**
 * Runs one slowloris peer; resolves with how long the server let it live (ms), or -1 when it was still
 * open after `giveUpMillis` (a failure).
 */
const slowloris = (port: number, trickle: Trickle, secure: boolean, giveUpMillis: number): Effect.Effect<number> =>
  Effect.async<number>((resume) => {
    const started = Date.now()
    let done = false
    let timer: NodeJS.Timeout | undefined
    const socket: net.Socket = secure
      ? tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false })
      : net.connect({ host: "127.0.0.1", port })
    const finish = (millis: number) => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(giveUp)
      socket.destroy()
      resume(Effect.succeed(millis))
    }
    const giveUp = setTimeout(() => finish(-1), giveUpMillis)
    let i = 0
    const drip = () => {
      if (done) return
      if (i < trickle.slow.length) socket.write(trickle.slow[i++]!)
      timer = setTimeout(drip, TRICKLE_MILLIS)
    }
    socket.on(secure ? "secureConnect" : "connect", () => {
      if (trickle.quick.length > 0) socket.write(trickle.quick)
      drip()
    })
    socket.on("data", () => {})
    socket.on("error", () => finish(Date.now() - started))
    socket.on("close", () => finish(Date.now() - started))
    return Effect.sync(() => finish(-1))
  })

/** A server with a good client on it, and hashed transfers running until `stop()`; `check()` ends them. */
const tunnelWithTraffic = (transport: StreamTransport, dialTimeout: number) =>
  Effect.gen(function*() {
    const { echo, tunnelPort, userPort } = yield* echoSetup
    const t = transportConfigs(transport, certs)
    const logs: Array<string> = []
    const server = yield* startServer(
      serverConfig(tunnelPort, [mapping(userPort, echo.port)], { ...t.server, ws_path: PATH, dial_timeout: dialTimeout }),
      undefined,
      logs
    )
    yield* startClient(clientConfig(tunnelPort, { ...t.client, ws_path: PATH }))
    let stop = false
    const traffic = yield* Effect.fork(Effect.gen(function*() {
      const results: Array<boolean> = []
      for (let i = 0; !stop || results.length === 0; i++) {
        const r = yield* within(transfer(userPort, 64 * 1024 + i * 1000, "127.0.0.1", 16 * 1024), 30_000, `good transfer ${i}`)
        results.push(r.sent === r.received && r.sentHash === r.receivedHash)
        yield* Effect.sleep(100)
      }
      return results
    }))
    const check = Effect.gen(function*() {
      stop = true
      const results = yield* Fiber.join(traffic)
      assert.isAtLeast(results.length, 1)
      assert.isTrue(results.every(Boolean), "every transfer of the good client arrived intact")
      assert.strictEqual(server.value.hub.sessionCount, 1)
    })
    return { server, tunnelPort, logs, check }
  })

/** The deadline holds: not before it (bytes kept coming), and not long after it. */
const droppedAtDeadline = (millis: number, deadlines: number, what: string) => {
  assert.notStrictEqual(millis, -1, `${what}: still open long after the deadline`)
  assert.isAtLeast(millis, deadlines * DEADLINE * 1000 - 1_600, `${what}: dropped at the deadline, not before`)
  assert.isAtMost(millis, deadlines * DEADLINE * 1000 + 2_500, `${what}: dropped at the deadline`)
}

describe("abuse: slowloris peers are dropped at the handshake deadline", () => {
  for (const transport of ["tcp", "tcpmux"] as const) {
    it.scopedLive(`${transport}: 20 peers trickling a valid hello are each dropped at dial_timeout and counted`, () =>
      Effect.gen(function*() {
        const { check, logs, server, tunnelPort } = yield* tunnelWithTraffic(transport, DEADLINE)
        const before = server.value.stats.rejected
        const lived = yield* Effect.forEach(
          Array.from({ length: 20 }, () => ({ quick: Buffer.alloc(0), slow: bytesOf(hello(transport)) })),
          (t) => slowloris(tunnelPort, t, false, DEADLINE * 1000 + 8_000),
          { concurrency: "unbounded" }
        )
        lived.forEach((ms, i) => droppedAtDeadline(ms, 1, `peer ${i}`))
        console.log(`slowloris ${transport}, hello: dropped after ${Math.min(...lived)}-${Math.max(...lived)} ms (dial_timeout ${DEADLINE} s)`)
        assert.isTrue(yield* eventually(() => server.value.stats.rejected - before >= 20, 3_000), "each counted")
        assert.isTrue(logs.some((l) => l.includes(`no handshake within ${DEADLINE}s`)), "and logged")
        yield* check
      }), 40_000)
  }

  for (const transport of ["ws", "wsmux", "wss"] as const) {
    it.scopedLive(`${transport}: peers trickling the upgrade, the hello in frames, and both in turn are dropped at dial_timeout`, () =>
      Effect.gen(function*() {
        const secure = transport === "wss"
        const { check, server, tunnelPort } = yield* tunnelWithTraffic(transport, DEADLINE)
        const before = server.value.stats.rejected
        const framedHello = bytesOf(hello(transport)).map((b) => wsFrames(b))
        const cases = [
          ...Array.from({ length: 10 }, () => ({ what: "upgrade", deadlines: 1, t: { quick: Buffer.alloc(0), slow: bytesOf(upgradeRequest) } })),
          ...Array.from({ length: 10 }, () => ({ what: "hello in frames", deadlines: 1, t: { quick: upgradeRequest, slow: framedHello } })),
          // a head that ends a trickle into the upgrade deadline, then the hello trickled: it gets a deadline of its own
          {
            what: "upgrade, then hello",
            deadlines: 2,
            t: { quick: upgradeRequest.subarray(0, upgradeRequest.length - 1), slow: [Buffer.alloc(0), upgradeRequest.subarray(-1), ...framedHello] }
          }
        ]
        const lived = yield* Effect.forEach(cases, (c) => slowloris(tunnelPort, c.t, secure, 2 * DEADLINE * 1000 + 8_000), {
          concurrency: "unbounded"
        })
        lived.forEach((ms, i) => {
          const c = cases[i]!
          if (c.deadlines === 1) droppedAtDeadline(ms, 1, c.what)
          else {
            // the upgrade took 1.5 s of its 3; the hello then gets its own full deadline
            assert.notStrictEqual(ms, -1)
            assert.isAtLeast(ms, TRICKLE_MILLIS + DEADLINE * 1000 - 1_600)
            assert.isAtMost(ms, 2 * DEADLINE * 1000 + 2_500, "never longer than two deadlines")
          }
        })
        for (const what of new Set(cases.map((c) => c.what))) {
          const ms = lived.filter((_, i) => cases[i]!.what === what)
          console.log(`slowloris ${transport}, ${what}: dropped after ${Math.min(...ms)}-${Math.max(...ms)} ms (dial_timeout ${DEADLINE} s)`)
        }
        // those that got past the upgrade reached the handshake: counted (the HTTP refusals are not)
        assert.isTrue(yield* eventually(() => server.value.stats.rejected - before >= 11, 3_000), `${server.value.stats.rejected - before} counted`)
        yield* check
      }), 40_000)
  }

  it.scopedLive("ws: a peer that half-closes in the middle of its HTTP head is closed, not left open", () =>
    Effect.gen(function*() {
      const { check, tunnelPort } = yield* tunnelWithTraffic("ws", 30)
      const partial = [
        "GET /tunnel HTTP/1.1\r\nHost: 127.0.0.1",
        "GET /tu",
        upgradeRequest.toString("latin1").slice(0, -2)
      ]
      const lived = yield* Effect.forEach(partial, (head) =>
        Effect.async<number>((resume) => {
          const started = Date.now()
          const s = net.connect({ host: "127.0.0.1", port: tunnelPort, allowHalfOpen: true }, () => s.end(head))
          const timer = setTimeout(() => {
            s.destroy()
            resume(Effect.succeed(-1))
          }, 5_000)
          s.on("data", () => {})
          s.on("error", () => {})
          s.on("close", () => {
            clearTimeout(timer)
            resume(Effect.succeed(Date.now() - started))
          })
        }), { concurrency: "unbounded" })
      // the deadline is 30 s here: only the end of the peer's input can have closed it this soon
      for (const ms of lived) assert.notStrictEqual(ms, -1, "closed once the peer's input ended")
      yield* check
    }), 40_000)
})

// ---------------------------------------------------------------------------------------------------
// a flood of junk connections

const JUNK = Number(process.env.ABUSE_JUNK ?? "10000")
/** the server's dial_timeout in the flood, seconds */
const FLOOD_DEADLINE = 20

/** The soft limit on open files of this process (the server's), from /proc. */
const openFilesLimit = (): number => {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))
  return Number(line?.trim().split(/\s+/)[3] ?? "1024")
}
const openFds = (): number => readdirSync("/proc/self/fd").length
const mib = (bytes: number) => Math.round(bytes / 1048576)

describe("abuse: a flood of junk connections", () => {
  for (const transport of ["tcp", "ws"] as const) {
    it.scopedLive(`${transport}: ${JUNK} junk connections at once do not keep a legitimate client from connecting and carrying hashed traffic`, () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const t = transportConfigs(transport)
        // silent junk is held until dial_timeout: 20 s, so that all of it is open at once even on a slow machine
        const server = yield* startServer(
          serverConfig(tunnelPort, [mapping(userPort, echo.port)], { ...t.server, ws_path: PATH, dial_timeout: FLOOD_DEADLINE })
        )
        const limit = openFilesLimit()
        // each junk connection costs this process one descriptor (the flood's end is in its own process)
        const atOnce = Math.min(JUNK, limit - openFds() - 500)
        const fdsBefore = openFds()
        const rssBefore = process.memoryUsage().rss
        // a thousand source addresses (127.2.x.y): few failures each, so the per-address auth lockout
        // does not turn the flood away before it is held; the client comes from 127.0.0.1
        const sources = Array.from({ length: 1000 }, (_, i) => `127.2.${i >> 8}.${(i & 0xff) || 255}`)
        const flood = yield* Processes.start(process.execPath, [
          fileURLToPath(new URL("../helpers/JunkFlood.mjs", import.meta.url)),
          JSON.stringify({
            port: tunnelPort,
            count: JUNK,
            open: atOnce,
            connecting: 256,
            sources,
            mix: { silent: 8, garbage: 1, http: 1 },
            // all of them open at once first; then the garbage and the truncated requests go out together
            sendAtPeak: true,
            maxHoldMs: FLOOD_DEADLINE * 1000 + 30_000
          })
        ])
        yield* flood.waitFor(/PEAK \d+/, 90_000)
        const peakSaid = Number(/PEAK (\d+)/.exec(flood.output())![1])
        const fdsAtPeak = openFds()
        const rssAtPeak = process.memoryUsage().rss
        // a legitimate client now, in the middle of the flood
        const connectStarted = Date.now()
        yield* within(startClient(clientConfig(tunnelPort, { ...t.client, ws_path: PATH })), 60_000, "the legitimate client connecting")
        const connectMillis = Date.now() - connectStarted
        const carried = yield* within(transfer(userPort, 4 * 1024 * 1024), 60_000, "the legitimate client's transfer")
        assert.strictEqual(carried.received, carried.sent)
        assert.strictEqual(carried.receivedHash, carried.sentHash, "the legitimate client's bytes arrived intact")
        const fdsAfterClient = openFds()
        yield* Effect.timeout(flood.done, 180_000)
        const figures = JSON.parse(flood.output().trim().split("\n").pop()!) as {
          connected: number
          refused: number
          refusedCodes: Record<string, number>
          endedByServer: number
          resetByServer: number
          held: number
          rateLimited: number
          http: number
          peakOpen: number
          millis: number
        }
        // every junk connection that connected was ended by the server, by its deadline
        assert.strictEqual(figures.held, 0, "no junk connection outlived the server's deadline")
        assert.strictEqual(figures.connected + figures.refused, JUNK)
        if (transport === "tcp") assert.isAtLeast(server.value.stats.rejected, figures.connected, "each counted")
        // and the server let go of them all
        assert.isTrue(yield* eventually(() => openFds() <= fdsBefore + 40, 20_000), `descriptors ${openFds()} after, ${fdsBefore} before`)
        // a fresh user connection still goes through
        const again = yield* within(transfer(userPort, 1024 * 1024), 30_000, "a transfer after the flood")
        assert.strictEqual(again.receivedHash, again.sentHash)
        const report = {
          transport,
          junk: JUNK,
          atOnce,
          openFilesLimit: limit,
          floodMillis: figures.millis,
          peakOpenAtFlood: figures.peakOpen,
          openWhenAllTried: peakSaid,
          serverFdsBefore: fdsBefore,
          serverFdsAtPeak: fdsAtPeak,
          serverFdsWithClient: fdsAfterClient,
          serverFdsAfter: openFds(),
          rssMiB: { before: mib(rssBefore), atPeak: mib(rssAtPeak), after: mib(process.memoryUsage().rss) },
          clientConnectMillis: connectMillis,
          refused: figures.refused,
          refusedCodes: figures.refusedCodes,
          endedByServer: figures.endedByServer,
          resetByServer: figures.resetByServer,
          rateLimitedAnswers: figures.rateLimited,
          httpAnswers: figures.http,
          serverRejected: server.value.stats.rejected
        }
        const dir = join(process.cwd(), "test-results", "abuse")
        mkdirSync(dir, { recursive: true })
        writeFileSync(join(dir, `${transport}.json`), JSON.stringify(report, null, 2) + "\n")
        console.log(`abuse ${transport}: ${JSON.stringify(report)}`)
      }), 300_000)
  }
})
