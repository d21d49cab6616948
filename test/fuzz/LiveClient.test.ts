/**
 * Real clients against a hostile server, over real loopback sockets (issue 13, part C): a fake server
 * (test/helpers/FakeServer.ts) on the transport's real carrier answers each connection with garbage —
 * at once, or after a valid start (a proper ServerHello, a verdict, a proven handshake and Welcome),
 * on the control channel and on the data channels or mux sessions the clients open — then half-closes
 * or goes silent. The clients must close every connection by their own deadlines, never dial a target
 * (the fake never sends a genuine Connect), log each failed attempt and keep retrying; once a real server
 * takes the port, the same clients connect and carry hashed bytes.
 *
 * CI plays 24 scenarios per transport (tcp, tcpmux, ws, wsmux); `npm run fuzz` FUZZ_RUNS / 100 (200 at
 * the default 20,000) on every transport.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as fc from "fast-check"
import { rmSync } from "node:fs"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Certs from "../helpers/Certs.ts"
import * as FakeServer from "../helpers/FakeServer.ts"
import { fuzzing, runs, tally, timeout, within } from "../helpers/Fuzz.ts"
import {
  clientConfig,
  eventually,
  isMux,
  mapping,
  serverConfig,
  startClient,
  startServer,
  type StreamTransport,
  streamTransports,
  transportConfigs
} from "../helpers/Harness.ts"
import * as MuxFrame from "../../src/transport/mux/Frame.ts"
import { transfer } from "../helpers/Sockets.ts"

const count = tally("live-client")
const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

const SCENARIOS = fuzzing ? runs(24, 1 / 100) : 24
/** clients per wave: each retries on its own backoff, so several together play more scenarios */
const CLIENTS = 6
/** scenarios per wave: a client's backoff grows with every failure, so waves start fresh clients */
const PER_WAVE = CLIENTS * 4
const PATH = "/tunnel"
const transports: ReadonlyArray<StreamTransport> = fuzzing ? streamTransports : ["tcp", "tcpmux", "ws", "wsmux"]

describe("fuzz: clients against a hostile server", () => {
  for (const transport of transports) {
    it.scopedLive(`${transport}: ${SCENARIOS} hostile scenarios; every connection closed, no target dialed, then a real server works`, () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const tunnelPort = yield* freePort()
        const userPort = yield* freePort()
        const t = transportConfigs(transport, certs)
        const config = serverConfig(tunnelPort, [mapping(userPort, echo.port)], { ...t.server, ws_path: PATH })
        const scenarios = fc.sample(FakeServer.arbScenario(transport, isMux(transport)), { numRuns: SCENARIOS, seed: 0xc11e + transport.length })
        const fakeScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const fake = yield* FakeServer.make(config, scenarios, isMux(transport)).pipe(Scope.extend(fakeScope))
        const clientOptions = { ...t.client, ws_path: PATH, dial_timeout: 2, retry_interval: 0.1 }
        const played = () => Object.values(fake.played).reduce((a, b) => a + b, 0)

        const logs: Array<string> = []
        /** still open after a wave: sessions a mutated Welcome gave a long heartbeat, late pooled data channels */
        let longSessions = 0
        let lateData = 0
        for (let wave = 0; played() < SCENARIOS; wave++) {
          const target = Math.min(SCENARIOS, played() + PER_WAVE)
          const clients = yield* Effect.forEach(Array.from({ length: CLIENTS }), () => startClient(clientConfig(tunnelPort, clientOptions), false, logs))
          assert.isTrue(yield* eventually(() => played() >= target, 60_000), `wave ${wave}: ${played()} of ${target} played`)
          // the wave's scenarios are played: every connection must now be ended by the clients themselves,
          // by their own deadlines (connect: dial_timeout 2 s; a silent session: 3 heartbeats + 1 s)
          fake.quiet()
          // (a session the client could accept lasts as long as the server's heartbeat says: up to 3 h)
          // (mux sessions of an ended session too: the second finding below, fixed). Pooled data channels
          // are counted, not required: one still opening when its session ends joins it after the close of
          // its idle channels and waits for a Connect for as long as the server keeps it (left to the
          // owner of src/client/Dialer.ts; the first finding below covers the channels already open)
          const pooledData = (o: FakeServer.Open) => o.kind === "data" && !isMux(transport)
          const mustClose = () =>
            fake.openOnes().filter((o) => (o.kind === "session" ? o.millis > o.deadAfterMillis + 3_000 : !pooledData(o)))
          const closed = yield* eventually(() => mustClose().length === 0, 15_000)
          assert.isTrue(closed, `connections the clients left open: ${mustClose().map((o) => `${o.what} for ${o.millis} ms`).join("; ")}`)
          longSessions += fake.openOnes().filter((o) => o.kind === "session").length
          lateData += fake.openOnes().filter(pooledData).length
          if (played() < SCENARIOS) {
            yield* within(Effect.forEach(clients, (c) => c.stop), 30_000, `stopping the clients of wave ${wave}`)
            fake.loud()
          }
        }
        console.log(`${transport}: ${JSON.stringify(fake.played)} played, ${fake.dataChannels()} data channels opened, ${longSessions} sessions kept by a long heartbeat, ${lateData} late data channels held`)
        assert.strictEqual(echo.accepted(), 0, "no target was dialed on a hostile server's word")
        const failures = logs.filter((l) => l.includes("cannot connect to") || l.includes("session with") || l.includes("data channel") || l.includes("mux session"))
        assert.isAtLeast(failures.length, Math.min(SCENARIOS, 10), "the clients say why each attempt failed")

        // a real server on the same port: the last wave's clients connect and carry bytes
        yield* within(Scope.close(fakeScope, Exit.void), 30_000, "closing the fake server")
        const server = yield* within(startServer(config), 30_000, "starting a real server on the port")
        assert.isTrue(yield* eventually(() => server.value.hub.readyCount > 0, 30_000), "the clients connected to a real server")
        const r = yield* within(transfer(userPort, 256 * 1024), 30_000, "a transfer through the real server")
        assert.strictEqual(r.receivedHash, r.sentHash)
        assert.isAtLeast(echo.accepted(), 1)
        for (const [stage, n] of Object.entries(fake.played)) for (let i = 0; i < n; i++) count(`live client, ${transport}`, `garbage after: ${stage}`)
      }), timeout(180_000, 3_600_000))
  }
})

describe("clients against a hostile server: found by the suite above, fixed", () => {
  // A pooled data channel waited for its Connect for as long as the server kept it open, and a session
  // that ended any other way than by timing out left its idle channels open. A real server closes them
  // itself; a hostile one could make a client hold up to MAX_IDLE_CHANNELS of them per session, session
  // after session. Now the client closes the idle channels of a session when it ends (busy ones finish).
  it.scopedLive("tcp: the idle data channels of a session the server ended are closed by the client", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const config = serverConfig(tunnelPort, [], { transport: "tcp" })
      const fake = yield* FakeServer.make(config, [{ stage: "data", garbage: Buffer.alloc(0), hold: false }], false)
      yield* startClient(clientConfig(tunnelPort, { transport: "tcp", retry_interval: 0.1 }), false)
      assert.isTrue(yield* eventually(() => fake.dataChannels() >= 2, 10_000), "the client opened the data channels asked for")
      fake.quiet()
      // the fake ends the control channel 1.5 s after its Welcome; the session is over then
      assert.isTrue(
        yield* eventually(() => fake.openOnes().filter((o) => o.kind === "data").length === 0, 6_000),
        `idle data channels held after their session ended: ${fake.openOnes().filter((o) => o.kind === "data").length}`
      )
    }), 20_000)

  // When its control session ends, a client's mux session goes away gracefully (GoAway) and closes once
  // its streams are done — but nothing watched the peer any more (the pings stop with the control
  // session), so a stream the server opened and never finished (its Connect cut short) kept the mux
  // session open for as long as the server kept the carrier. Now a stream's Connect has `dial_timeout`
  // to arrive (2 s here, so the check fits the test's window).
  it.scopedLive("tcpmux: a mux session left with a half-sent Connect after its session ended is closed by the client", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const config = serverConfig(tunnelPort, [], { transport: "tcpmux" })
      // a stream opened with the first 10 bytes of a 45-byte Connect, then nothing
      const cut = Buffer.concat([MuxFrame.header(MuxFrame.Type.Data, MuxFrame.Flag.SYN, 2, 10), Buffer.from([5, 0, 0, 0, 40, 0, 80, 0, 0, 0])])
      const fake = yield* FakeServer.make(config, [{ stage: "data", garbage: cut, hold: false }], true)
      yield* startClient(clientConfig(tunnelPort, { transport: "tcpmux", retry_interval: 0.1, dial_timeout: 2 }), false)
      assert.isTrue(yield* eventually(() => fake.dataChannels() >= 1, 10_000), "the client opened its mux session")
      fake.quiet()
      // the fake ends the control channel 1.5 s after its Welcome; give the client 3 heartbeats more
      assert.isTrue(
        yield* eventually(() => fake.openOnes().filter((o) => o.kind === "data").length === 0, 6_000),
        `mux sessions held after their session ended: ${fake.openOnes().filter((o) => o.kind === "data").length}`
      )
    }), 20_000)
})
