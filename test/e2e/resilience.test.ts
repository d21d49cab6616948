/**
 * Failure handling over real loopback sockets: dead peers detected by heartbeats on both sides, session
 * replacement, the channel_size bound, pool replenishment and the client's forwarder override.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Redacted from "effect/Redacted"
import * as net from "node:net"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Tcp from "../helpers/Net.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import { clientConfig, echoSetup, eventually, mapping, serverConfig, startClient, startServer } from "../helpers/Harness.ts"
import { connectAndWaitEnd, roundTrip } from "../helpers/Sockets.ts"

const token = Redacted.make("test-secret")
const socketOptions = { nodelay: false, keepaliveSeconds: 0 }

describe("resilience", () => {
  it.scopedLive("the server drops a client that goes silent after ~3 heartbeats", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(yield* freePort(), 9)]))
      // a hand-made client: handshake, read Welcome, then never send another byte
      const socket = yield* Tcp.dial({ host: "127.0.0.1", port: tunnelPort }, socketOptions, 5)
      yield* Handshake.client(socket, { token, transport: "tcp", instance: Buffer.alloc(16, 1) })
      const welcome = yield* Handshake.readFrame(socket)
      assert.strictEqual(welcome._tag, "Welcome")
      assert.isDefined(server.value.hub.sessionId)
      const started = Date.now()
      assert.isTrue(yield* eventually(() => server.value.hub.sessionId === undefined, 8_000))
      const took = Date.now() - started
      assert.isAtLeast(took, 2_000)
    }), 15_000)

  it.scopedLive("the client reconnects when the server goes silent", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      let sessions = 0
      // a hand-made server: admits the control channel, welcomes it, then says nothing more
      const fork = yield* FiberSet.makeRuntime<never, unknown, never>()
      yield* Tcp.listen({ host: "127.0.0.1", port: tunnelPort }, socketOptions, (socket) =>
        fork(Handshake.server(socket, { token, transport: "tcp", admitData: () => "unknown", admitControl: () => true }).pipe(
          Effect.tap(() => sessions++),
          Effect.tap(() => Handshake.sendFrame(socket, { _tag: "Welcome", heartbeatMs: 1000, poolSize: 0, maxFrame: 0 })),
          Effect.zipRight(Effect.never),
          Effect.ignore
        )))
      const client = yield* startClient(clientConfig(tunnelPort), false)
      assert.isTrue(yield* eventually(() => client.value.stats.sessions >= 2, 10_000))
      assert.isAtLeast(sessions, 2)
    }), 15_000)

  it.scopedLive("a ghost session does not hold up a new client, and a reconnect of the same client replaces its own", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(
        serverConfig(tunnelPort, [mapping(userPort, echo.port)], { heartbeat: 30 })
      )
      // an old client vanished without a FIN (e.g. its network dropped): its session still looks alive
      const instance = Buffer.alloc(16, 1)
      const ghost = yield* Tcp.dial({ host: "127.0.0.1", port: tunnelPort }, socketOptions, 5)
      yield* Handshake.client(ghost, { token, transport: "tcp", instance })
      const ghostSession = server.value.hub.sessionId
      assert.isDefined(ghostSession)
      // another client is live beside it at once and carries the users (the ghost has no channels)
      yield* startClient(clientConfig(tunnelPort, { heartbeat: 30 }))
      assert.strictEqual(server.value.hub.sessionCount, 2)
      assert.isTrue(yield* eventually(() => server.value.hub.readyCount > 0, 2_000))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("new session"))).toString(), "new session")
      // the ghost's own process comes back (same instance): its old session is replaced, and told why
      const back = yield* Tcp.dial({ host: "127.0.0.1", port: tunnelPort }, socketOptions, 5)
      yield* Handshake.client(back, { token, transport: "tcp", instance })
      const seen: Array<string> = []
      yield* Effect.either(Effect.forever(Effect.map(Handshake.readFrame(ghost), (f) => {
        seen.push(f._tag === "Goodbye" ? `Goodbye: ${f.reason}` : f._tag)
      })))
      assert.include(seen, "Goodbye: replaced by a newer session of the same client")
      assert.strictEqual(server.value.hub.sessionCount, 2)
      assert.notStrictEqual(server.value.hub.sessionId, ghostSession)
      assert.strictEqual(server.value.stats.sessions, 3)
    }))

  it.scopedLive("max_clients = 1: a second client is refused with a clear error while the first is heard from", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(
        serverConfig(tunnelPort, [mapping(userPort, echo.port)], { heartbeat: 30, max_clients: 1 })
      )
      yield* startClient(clientConfig(tunnelPort, { heartbeat: 30 }))
      const other = yield* Tcp.dial({ host: "127.0.0.1", port: tunnelPort }, socketOptions, 5)
      const refused = yield* Effect.flip(Handshake.client(other, { token, transport: "tcp", instance: Buffer.alloc(16, 9) }))
      assert.strictEqual(refused.reason, "TooManyClients")
      assert.include(refused.message, "max_clients")
      assert.strictEqual(server.value.hub.sessionCount, 1)
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("still here"))).toString(), "still here")
    }))

  it.scopedLive("beyond channel_size waiting connections are refused at once and counted", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(
        serverConfig(tunnelPort, [mapping(userPort, echo.port)], { channel_size: 2 }),
        { userWaitMillis: 5_000, authFailuresPerMinute: 10 }
      )
      // no client yet: every user connection has to wait
      const waiting = yield* Effect.forEach([1, 2], (i) => Effect.fork(roundTrip(userPort, Buffer.from(`w${i}`))))
      assert.isTrue(yield* eventually(() => server.value.hub.waiting === 2))
      const refused = yield* Effect.forEach([1, 2, 3], () => connectAndWaitEnd(userPort, 2_000), { concurrency: 3 })
      assert.deepStrictEqual(refused.map((r) => r !== "timeout"), [true, true, true])
      assert.strictEqual(server.value.stats.refused, 3)
      yield* startClient(clientConfig(tunnelPort))
      const answers = yield* Effect.forEach(waiting, (f) => Effect.flatten(f.await))
      assert.deepStrictEqual(answers.map(String), ["w1", "w2"])
    }))

  it.scopedLive("the pool is replenished as data channels are used", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], { connection_pool: 4 }))
      yield* startClient(clientConfig(tunnelPort))
      assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 4))
      for (let i = 0; i < 30; i++) {
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from(`n${i}`))).toString(), `n${i}`)
      }
      assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 4))
      assert.strictEqual(server.value.stats.opened, 30)
    }))

  it.scopedLive("the client's forwarder overrides the server's target for that port", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const nowhere = yield* freePort()
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, nowhere)]))
      yield* startClient(clientConfig(tunnelPort, {
        forwarder: new Map([[userPort, { host: "127.0.0.1", port: echo.port }]])
      }))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("redirected"))).toString(), "redirected")
      assert.strictEqual(echo.accepted(), 1)
    }))

  it.scopedLive("a user port that is taken at start-up does not hold up the others, and is bound once freed", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const takenPort = yield* freePort()
      const squatter = net.createServer().listen(takenPort, "127.0.0.1")
      yield* Effect.async<void>((resume) => {
        squatter.once("listening", () => resume(Effect.void))
      })
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port), mapping(takenPort, echo.port)]))
      yield* startClient(clientConfig(tunnelPort))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("free port"))).toString(), "free port")
      yield* Effect.async<void>((resume) => {
        squatter.close(() => resume(Effect.void))
      })
      // retried every 10 s
      let answer = ""
      for (let i = 0; i < 30 && answer !== "taken port"; i++) {
        yield* Effect.sleep(500)
        answer = yield* roundTrip(takenPort, Buffer.from("taken port")).pipe(
          Effect.map(String),
          Effect.orElseSucceed(() => "")
        )
      }
      assert.strictEqual(answer, "taken port")
    }), 30_000)
})
