/**
 * Fault injection (issue 13, part C): every transport with a `FaultProxy` between client and server.
 * - a cut (every connection reset): the client reconnects and traffic resumes;
 * - a black hole (bytes dropped, nothing closed): both sides declare the peer dead within
 *   3 × heartbeat + 1 s, and recover once healed;
 * - a user connection in flight when the peer is declared dead is closed on both sides (issue item A2);
 * - reconnect cycles through the compiled binary: server and client file descriptors and RSS (from /proc)
 *   do not grow;
 * - delay and throttle: bytes arrive intact, and heartbeats do not declare a slow peer dead.
 * Server and client run in-process (test/helpers/Harness.ts) except for the cycles, which count a child
 * process's own descriptors. Hashed bytes throughout (sha256 both ways).
 *
 * FAULT_CYCLES (default 50) sets the number of reconnect cycles; FAULT_FULL_EVERY (default 10) how often
 * a cycle cuts the control channel too (1: every cycle), the others cutting only the session's carrier
 * connections (see `cycles` below for why); FAULT_SERIES=file.json writes every reading.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { existsSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as BinaryTunnel from "../helpers/BinaryTunnel.ts"
import * as Certs from "../helpers/Certs.ts"
import * as FaultProxy from "../helpers/FaultProxy.ts"
import {
  clientConfig,
  eventually,
  isMux,
  mapping,
  serverConfig,
  startClient,
  startServer,
  streamTransports,
  type StreamTransport,
  transportConfigs
} from "../helpers/Harness.ts"
import * as ProcStats from "../helpers/ProcStats.ts"
import { roundTrip, transfer } from "../helpers/Sockets.ts"
import * as TrackedEcho from "../helpers/TrackedEcho.ts"

const MiB = 1024 * 1024
/** heartbeat, seconds: the smallest the config accepts, so a dead peer is found fast */
const HEARTBEAT = 1
/** what the issue asks: a dead peer declared within 3 × heartbeat + 1 s of the path going silent */
const DEAD_WITHIN_MS = 3 * HEARTBEAT * 1000 + 1000
/**
 * The tolerance on that: only this test's 20 ms polling and the timers of a busy 2-core machine (the
 * watchdog's own look lag is inside its deadline, src/protocol/Control.ts).
 */
const DEAD_SLACK_MS = 250
const CYCLES = positive("FAULT_CYCLES", 50)
const FULL_EVERY = positive("FAULT_FULL_EVERY", 10)

function positive(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1, got ${JSON.stringify(raw)}`)
  return n
}

const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

/** The first time (ms after `since`) a line matching `pattern` is in `lines`, or undefined after `timeoutMs`. */
const seen = (lines: ReadonlyArray<string>, pattern: RegExp, since: number, timeoutMs: number) =>
  Effect.gen(function*() {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (lines.some((l) => pattern.test(l))) return Date.now() - since
      yield* Effect.sleep(20)
    }
    return undefined
  })

/** The log lines that say each side gave up on its peer. */
const serverEnded = /client session ended/
const clientEnded = /session with \S+ ended/

/** Server and client in-process, the client reaching the server through a FaultProxy; warnings recorded. */
const proxiedTunnel = (transport: StreamTransport, targetPort: number) =>
  Effect.gen(function*() {
    const tunnelPort = yield* freePort()
    const userPort = yield* freePort()
    const proxy = yield* FaultProxy.make(tunnelPort)
    const configs = transportConfigs(transport, certs)
    const serverLogs: Array<string> = []
    const clientLogs: Array<string> = []
    const server = yield* startServer(
      serverConfig(tunnelPort, [mapping(userPort, targetPort)], { ...configs.server, heartbeat: HEARTBEAT }),
      undefined,
      serverLogs
    )
    const client = yield* startClient(
      clientConfig(proxy.port, { ...configs.client, heartbeat: HEARTBEAT, retry_interval: 1, dial_timeout: 1 }),
      true,
      clientLogs
    )
    const up = () => server.value.hub.readyCount > 0
    assert.isTrue(yield* eventually(up), "the tunnel came up")
    const connected = SubscriptionRef.get(client.value.connected)
    return { proxy, server, client, serverLogs, clientLogs, userPort, up, connected }
  })

/** `bytes` through the user port and back, hashed both ways. */
const carries = (userPort: number, bytes: number, what: string) =>
  Effect.gen(function*() {
    const t = yield* transfer(userPort, bytes).pipe(Effect.mapError((e) => new Error(`${what}: ${e.message}`)))
    assert.strictEqual(t.sent, bytes, `${what}: all sent`)
    assert.strictEqual(t.received, bytes, `${what}: all came back`)
    assert.strictEqual(t.receivedHash, t.sentHash, `${what}: the same bytes came back`)
  })

/** A user connection that echoed once and is then left open: whether it has been closed, and how. */
const openUser = (port: number) =>
  Effect.async<{ readonly closed: () => "end" | "reset" | undefined; readonly socket: net.Socket }, Error>((resume) => {
    let closed: "end" | "reset" | undefined
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true })
    let echoed = ""
    socket.on("connect", () => socket.write("in flight"))
    socket.on("data", (c: Buffer) => {
      echoed += c.toString()
      if (echoed === "in flight") resume(Effect.succeed({ closed: () => closed, socket }))
    })
    socket.on("end", () => (closed ??= "end"))
    socket.on("error", (e) => {
      closed ??= "reset"
      resume(Effect.fail(e))
    })
    socket.on("close", () => (closed ??= "end"))
  })

describe.concurrent("fault injection", () => {
  // first, so it starts first: the longest test, all six transports at once (one test slot instead of six)
  it.scopedLive(`${CYCLES} reconnect cycles through the compiled binary: server and client fds and RSS do not grow`, () =>
    Effect.gen(function*() {
      assert.isTrue(existsSync(BinaryTunnel.binary), `${BinaryTunnel.binary} is missing: run \`node scripts/build.mjs\` first`)
      // started one after another (ports are picked free, then bound: concurrent starts race for them),
      // then cycled all at once
      const runs = yield* Effect.forEach(streamTransports, cycles)
      const results = yield* Effect.all(runs, { concurrency: "unbounded" })
      for (const r of results) console.log(r.report)
      // every reading, for plotting or for trying another rule on the same run
      const out = process.env.FAULT_SERIES
      if (out) writeFileSync(out, JSON.stringify(Object.fromEntries(results.map((r) => [r.transport, r.samples]))))
      for (const r of results) {
        for (const side of ["server", "client"] as const) {
          const { fds, collected } = r[side]
          assert.isAtMost(fds.late, fds.early + 2, `${r.transport} ${side}: fds ${fds.early} → ${fds.late}`)
          // RSS is judged after a full collection at both ends (see `collected`): the per-cycle medians,
          // reported beside it, mostly measure when Bun's collector last ran (saw-teeth of ±8 MiB). 15 %,
          // not 10: what is retained still grows by up to ~10 % while the first ~75 cycles warm the
          // process up (docs/reliability.md, "Fault injection"); a leak of ~250 KiB a cycle still fails
          assert.isAtMost(
            collected.late,
            collected.early * 1.15,
            `${r.transport} ${side}: RSS after collection ${collected.early} → ${collected.late} KiB`
          )
        }
      }
    }), (CYCLES * 12 + 120) * 1000)

  for (const transport of streamTransports) {
    it.scopedLive(`${transport}: after a cut the client reconnects and traffic resumes`, () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const { proxy, server, client, userPort, up, connected } = yield* proxiedTunnel(transport, echo.port)
        yield* carries(userPort, MiB, "before the cut")
        const sessions = client.value.stats.sessions
        const relayed = proxy.counts.relayed
        proxy.cut()
        assert.isTrue(
          yield* eventually(() => client.value.stats.sessions === sessions + 1 && up(), 15_000),
          "a new session after the cut"
        )
        assert.isTrue(yield* connected)
        assert.isAbove(proxy.counts.relayed, relayed, "the client came back through the proxy")
        yield* carries(userPort, MiB, "after the cut")
        assert.strictEqual(server.value.stats.sessions, 2)
      }), 30_000)

    it.scopedLive(`${transport}: after a black hole both sides declare the peer dead within 3 × heartbeat + 1 s, and recover once healed`, () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const { proxy, client, serverLogs, clientLogs, userPort, up, connected } = yield* proxiedTunnel(transport, echo.port)
        yield* carries(userPort, MiB, "before the black hole")
        const sessions = client.value.stats.sessions
        const t0 = Date.now()
        proxy.blackHole()
        const [serverAt, clientAt] = yield* Effect.all([
          seen(serverLogs, serverEnded, t0, 15_000),
          seen(clientLogs, clientEnded, t0, 15_000)
        ], { concurrency: 2 })
        console.log(`${transport} black hole: server declared the client dead after ${serverAt} ms, client the server after ${clientAt} ms`)
        assert.isDefined(serverAt, `the server never declared the client dead:\n${serverLogs.join("\n")}`)
        assert.isDefined(clientAt, `the client never declared the server dead:\n${clientLogs.join("\n")}`)
        for (const [side, at] of [["server", serverAt!], ["client", clientAt!]] as const) {
          assert.isAtMost(at, DEAD_WITHIN_MS + DEAD_SLACK_MS, `${side} took ${at} ms`)
          // not before the heartbeats really went missing: a black hole must not look like a reset
          assert.isAtLeast(at, (3 * HEARTBEAT - 1) * 1000, `${side} after ${at} ms`)
        }
        assert.isFalse(yield* connected, "the client says it is not connected")
        assert.isTrue(proxy.counts.dropped > 0, "the black hole dropped the heartbeats")
        // still black-holed: the client's reconnects are held and time out
        yield* Effect.sleep(1_500)
        assert.strictEqual(client.value.stats.sessions, sessions, "no session through a black hole")
        assert.isAbove(proxy.counts.held, 0, "the client tried to reconnect")
        proxy.heal()
        assert.isTrue(
          yield* eventually(() => client.value.stats.sessions === sessions + 1 && up(), 20_000),
          `a new session once healed:\n${clientLogs.join("\n")}`
        )
        assert.isTrue(yield* connected)
        yield* carries(userPort, MiB, "after healing")
      }), 60_000)

    if (!isMux(transport)) {
      it.scopedLive(`${transport}: when a cut takes every idle data channel, the server refills its pool without waiting for a user`, () =>
        Effect.gen(function*() {
          const echo = yield* EchoServer.make()
          const { proxy, server, userPort } = yield* proxiedTunnel(transport, echo.port)
          assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 8), "the default pool of 8")
          const control = proxy.connections[0]!
          const before = proxy.connections.length
          for (const link of proxy.live()) if (link !== control) link.cut()
          // the pool refills once it falls below half, to the full size: so at least half of it comes back
          assert.isTrue(
            yield* eventually(() => proxy.live().length >= 1 + 4 && proxy.connections.length >= before + 4, 5_000),
            `${proxy.connections.length - before} data channels dialed after the cut`
          )
          assert.isTrue(
            yield* eventually(() => server.value.hub.readyCount >= 4, 5_000),
            `${server.value.hub.readyCount} data channels ready after the cut`
          )
          assert.isFalse(control.closed)
          yield* carries(userPort, 64 * 1024, "after the data channels were cut")
        }), 30_000)
    }

    // issue 13 item A2: fails until src/server and src/client reset a dead session's busy channels
    it.scopedLive(`${transport}: a user connection in flight when the peer is declared dead is closed on both sides`, () =>
      Effect.gen(function*() {
        const target = yield* TrackedEcho.make
        const { proxy, serverLogs, clientLogs, userPort } = yield* proxiedTunnel(transport, target.port)
        const user = yield* openUser(userPort)
        assert.strictEqual(target.accepted.length, 1)
        const t0 = Date.now()
        proxy.blackHole()
        const serverAt = yield* seen(serverLogs, serverEnded, t0, 15_000)
        assert.isDefined(serverAt, "the server declared the client dead")
        // the server's half: the user it was carrying is closed (the reply will never come)
        assert.isTrue(
          yield* eventually(() => user.closed() !== undefined, 2_000),
          `the user connection is still open ${Date.now() - t0} ms after the black hole (server declared dead at ${serverAt} ms)`
        )
        const clientAt = yield* seen(clientLogs, clientEnded, t0, 15_000)
        assert.isDefined(clientAt, "the client declared the server dead")
        // the client's half: the target connection is closed, so nothing late can reach the target
        assert.isTrue(
          yield* eventually(() => target.accepted[0]!.closed, 2_000),
          `the target connection is still open ${Date.now() - t0} ms after the black hole (client declared dead at ${clientAt} ms)`
        )
        user.socket.destroy()
      }), 30_000)

    it.scopedLive(`${transport}: 50 ms delay and a 1 MB/s throttle each way carry bytes intact, and heartbeats do not call the peer dead`, () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const { proxy, server, client, serverLogs, clientLogs, userPort, connected } = yield* proxiedTunnel(transport, echo.port)
        const rate = 1_000_000
        const bytes = 3 * MiB
        proxy.delay(50)
        proxy.throttle(rate)
        const t0 = Date.now()
        yield* carries(userPort, bytes, "delayed and throttled")
        const took = Date.now() - t0
        // the throttle was in force (a lower bound only, never a speed requirement)
        assert.isAtLeast(took, (bytes / rate) * 1000 * 0.9, `${bytes} bytes at ${rate} B/s took only ${took} ms`)
        // the path stays slow for longer than it takes to declare a silent peer dead
        proxy.throttle(0)
        yield* Effect.sleep(DEAD_WITHIN_MS + DEAD_SLACK_MS)
        yield* carries(userPort, 64 * 1024, "still delayed")
        assert.notMatch(serverLogs.join("\n"), serverEnded)
        assert.notMatch(clientLogs.join("\n"), clientEnded)
        assert.strictEqual(client.value.stats.sessions, 1)
        assert.strictEqual(server.value.stats.sessions, 1)
        assert.isTrue(yield* connected)
      }), 60_000)
  }
})

/** The last lines a process wrote, for a failure message. */
const tail = (proc: { readonly output: () => string }) => proc.output().split("\n").slice(-12).join("\n")

/** Per-cycle readings of one process, and how they moved. */
interface Series {
  readonly fds: ProcStats.Growth
  readonly rss: ProcStats.Growth
}

/**
 * One transport's reconnect cycles through the binary: starts the tunnel and returns the cycles to run
 * (cut, wait until the tunnel is whole again, carry bytes, read /proc of both processes).
 *
 * Why most cycles cut only the carrier connections: the client paces a new control session with
 * `Schedules.nextSession`, which backs off (1, 2, 4 … 30 s) while sessions keep ending within a minute,
 * and so does each mux session slot. Cutting everything every cycle so allows about six cycles a minute.
 * So a cycle cuts the session's data channels (pooled; the server asks for new ones at once) or one of
 * ten mux sessions, each once per control session; every FULL_EVERY-th cycle cuts the control channel
 * too, and the client makes a new session (which also restarts the mux slots' schedules).
 */
const cycles = (transport: StreamTransport) =>
  Effect.gen(function*() {
    const mux = isMux(transport)
    const secure = transport.startsWith("wss")
    const slots = 10
    const echo = yield* EchoServer.make()
    let proxy: FaultProxy.FaultProxy | undefined
    // default heartbeats: a cut is a reset, seen at once; short ones would only add false deaths on a
    // loaded machine
    const tunnel = yield* BinaryTunnel.tunnel([echo.port], {
      extra: [`transport = "${transport}"`, ...(mux ? [`mux_session = ${slots}`] : [])],
      serverExtra: secure ? [`tls_cert = "${certs.cert}"`, `tls_key = "${certs.key}"`] : [],
      clientExtra: secure ? [`tls_ca = "${certs.cert}"`] : [],
      via: (port) => Effect.map(FaultProxy.make(port), (made) => ((proxy = made), made.port))
    })
    const p = proxy!
    const userPort = tunnel.userPorts[0]!
    const pids = { server: tunnel.server.child.pid!, client: tunnel.client.child.pid! }
    // the control channel and the session's carrier connections: the mux sessions, or at least half the
    // default pool of 8 data channels (the server refills its pool once it falls below half)
    const whole = 1 + (mux ? slots : 4)
    const sessions = () => (tunnel.client.output().match(/connected to/g) ?? []).length
    let control = p.connections[0]!
    /** links before this index were opened by the current control session as it started */
    let generation = 0

    /**
     * The tunnel is whole again and no connection came or went for 300 ms. After a new session its
     * control channel is the oldest live link: the client dials it first and opens the rest once welcomed
     * (an attempt that failed left a closed link, not a live one).
     */
    const waitWhole = (what: string, newSession: boolean) =>
      Effect.gen(function*() {
        const until = Date.now() + 40_000
        let state = ""
        let since = Date.now()
        while (Date.now() < until) {
          const now = `${p.live().length}/${p.connections.length}`
          if (now !== state) [state, since] = [now, Date.now()]
          else if (p.live().length >= whole && (newSession || !control.closed) && Date.now() - since >= 300) {
            if (newSession) [control, generation] = [p.live()[0]!, p.connections.length]
            return
          }
          yield* Effect.sleep(50)
        }
        assert.fail(`${transport}: ${what}: ${p.live().length} of ${whole} connections\nclient:\n${tail(tunnel.client)}`)
      })

    const cycle = (i: number) =>
      Effect.gen(function*() {
        const full = i % FULL_EVERY === 0
        if (full) {
          const before = sessions()
          p.cut()
          assert.isTrue(yield* eventually(() => sessions() > before, 60_000), `${transport}: reconnected after cycle ${i}'s cut`)
        } else {
          const carriers = p.live().filter((l) => l !== control)
          // a mux slot not cut yet in this control session (its schedule still at its first step)
          if (mux) (carriers.find((l) => l.index < generation) ?? carriers[0]!).cut()
          else for (const l of carriers) l.cut()
        }
        yield* waitWhole(`cycle ${i}`, full)
        yield* carries(userPort, 256 * 1024, `${transport} cycle ${i}`).pipe(
          Effect.mapError((e) => new Error(`${e.message}\nserver:\n${tail(tunnel.server)}\nclient:\n${tail(tunnel.client)}`))
        )
        // let sockets closed by the cut finish closing in both processes before reading
        yield* Effect.sleep(100)
        return { server: ProcStats.sample(pids.server), client: ProcStats.sample(pids.client) }
      })

    /**
     * RSS once garbage is collected: 1,000 short connections and then a quiet second make both processes'
     * own `Memory.releaseAfterBursts` run a full collection and give free pages back (as in production
     * after a burst), so what is left is what is retained, whenever the collector last ran on its own.
     */
    const collected = Effect.gen(function*() {
      yield* Effect.forEach(Array.from({ length: 1_000 }, (_, i) => `burst ${i}`), (text) =>
        Effect.flatMap(roundTrip(userPort, Buffer.from(text)), (back) =>
          back.toString() === text ? Effect.void : Effect.fail(new Error(`${transport}: burst: ${text} came back as ${back}`))),
        { concurrency: 4, discard: true })
      yield* Effect.sleep(2_500)
      return { server: ProcStats.rssKiB(pids.server), client: ProcStats.rssKiB(pids.client) }
    })

    yield* waitWhole("start", true)
    return Effect.gen(function*() {
      const started = Date.now()
      const samples: Array<{ server: ProcStats.Sample; client: ProcStats.Sample }> = []
      const early = Math.min(15, CYCLES)
      let collectedEarly = { server: 0, client: 0 }
      for (let i = 1; i <= CYCLES; i++) {
        samples.push(yield* cycle(i))
        // after the reading: the burst's surplus data channels go with the next cycle's cut
        if (i === early) collectedEarly = yield* collected
      }
      const collectedLate = yield* collected
      const series = (side: "server" | "client"): Series => {
        const s = samples.map((x) => x[side])
        const [from, to, tail] = [Math.min(5, s.length), Math.min(15, s.length), Math.min(10, s.length)]
        return {
          fds: ProcStats.growth(s.map((x) => x.fds), from, to, tail),
          rss: ProcStats.growth(s.map((x) => x.rssKiB), from, to, tail)
        }
      }
      const server = { ...series("server"), collected: { early: collectedEarly.server, late: collectedLate.server } }
      const client = { ...series("client"), collected: { early: collectedEarly.client, late: collectedLate.client } }
      const mib = (kib: number) => (kib / 1024).toFixed(1)
      const fmt = (side: string, s: Series & { collected: ProcStats.Growth }) =>
        `${side} fds ${s.fds.early} → ${s.fds.late}, RSS ${mib(s.rss.early)} → ${mib(s.rss.late)} MiB ` +
        `(collected: ${mib(s.collected.early)} → ${mib(s.collected.late)})`
      const every10 = (side: "server" | "client") =>
        samples.filter((_, i) => (i + 1) % 10 === 0).map((x) => (x[side].rssKiB / 1024).toFixed(0)).join(" ")
      const report = `${transport}: ${CYCLES} cycles (${Math.floor(CYCLES / FULL_EVERY)} new control sessions, ` +
        `${p.counts.relayed} connections relayed) in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
        `medians of cycles 5–15 → last 10: ${fmt("server", server)}; ${fmt("client", client)}; ` +
        `RSS MiB every 10th cycle: server ${every10("server")}, client ${every10("client")}`
      return { transport, server, client, report, samples }
    })
  })
