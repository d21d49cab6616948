/**
 * What every stream transport must do end to end over loopback, run for each of them: real server,
 * client and targets in-process. Transport-specific behaviour lives in tcp.test.ts (pooled channels),
 * mux.test.ts (streams) and ws.test.ts (the WebSocket carrier).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { rmSync } from "node:fs"
import type { ClientConfig, PortMapping, ServerConfig } from "../../src/config/Config.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Backpressure from "../helpers/Backpressure.ts"
import * as Certs from "../helpers/Certs.ts"
import {
  clientConfig,
  echoSetup,
  eventually,
  isMux,
  mapping,
  serverConfig,
  startClient,
  startServer,
  streamTransports,
  transportConfigs
} from "../helpers/Harness.ts"
import { connectAndWaitEnd, halfCloseTarget, concurrentEchoes, pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024
const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

for (const transport of streamTransports) {
  const configs = transportConfigs(transport, certs)
  const server = (tunnelPort: number, ports: ReadonlyArray<PortMapping>, overrides: Partial<ServerConfig> = {}) =>
    serverConfig(tunnelPort, ports, { ...configs.server, ...overrides })
  const client = (tunnelPort: number, overrides: Partial<ClientConfig> = {}) =>
    clientConfig(tunnelPort, { ...configs.client, ...overrides })
  /** pooled: some data channels ready; mux: the session open */
  const ready = (s: { value: { hub: { readyCount: number } } }) => s.value.hub.readyCount > 0

  describe(`${transport} transport, end to end`, () => {
    it.scopedLive("carries 64 MiB each way exactly (sha256)", () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        yield* startServer(server(tunnelPort, [mapping(userPort, echo.port)]))
        yield* startClient(client(tunnelPort))
        const result = yield* transfer(userPort, 64 * MiB)
        assert.strictEqual(result.sent, 64 * MiB)
        assert.strictEqual(result.received, 64 * MiB)
        assert.strictEqual(result.receivedHash, result.sentHash)
      }), 120_000)

    it.scopedLive("200 concurrent connections each echo their own data", () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const s = yield* startServer(server(tunnelPort, [mapping(userPort, echo.port)]))
        yield* startClient(client(tunnelPort))
        assert.strictEqual(yield* concurrentEchoes(userPort, 200, (i) => 4096 + i * 37), 200)
        assert.strictEqual(echo.accepted(), 200)
        assert.isTrue(yield* eventually(() => s.value.stats.active === 0))
        assert.strictEqual(s.value.stats.opened, 200)
        // a mux transport carried them all on its one session
        if (isMux(transport)) assert.strictEqual(s.value.stats.channels, 1)
      }), 60_000)

    it.scopedLive("half-close: the user ends its writes and still receives the reply", () =>
      Effect.gen(function*() {
        const target = yield* halfCloseTarget
        const tunnelPort = yield* freePort()
        const userPort = yield* freePort()
        yield* startServer(server(tunnelPort, [mapping(userPort, target)]))
        yield* startClient(client(tunnelPort))
        const request = pattern(7, 3 * MiB)
        const reply = yield* roundTrip(userPort, request)
        assert.strictEqual(reply.toString(), `got ${request.length} bytes sha256=${sha256(request)}`)
      }))

    it.scopedLive("a wrong token is rejected and nothing reaches the target", () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const s = yield* startServer(server(tunnelPort, [mapping(userPort, echo.port)]), {
          userWaitMillis: 500,
          authFailuresPerMinute: 100
        })
        const c = yield* startClient(client(tunnelPort, { token: Redacted.make("not-the-secret") }), false)
        assert.isTrue(yield* eventually(() => s.value.stats.rejected >= 2))
        const how = yield* connectAndWaitEnd(userPort, 3_000)
        assert.notStrictEqual(how, "timeout")
        assert.strictEqual(echo.accepted(), 0)
        assert.strictEqual(c.value.stats.sessions, 0)
        assert.strictEqual(s.value.stats.sessions, 0)
        assert.strictEqual(s.value.stats.channels, 0)
      }))

    it.scopedLive("server restart: the client reconnects and traffic resumes", () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const config = server(tunnelPort, [mapping(userPort, echo.port)])
        const first = yield* startServer(config)
        const c = yield* startClient(client(tunnelPort))
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from("one"))).toString(), "one")
        yield* first.stop
        const second = yield* startServer(config)
        assert.isTrue(yield* eventually(() => second.value.stats.sessions === 1 && ready(second)))
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from("two"))).toString(), "two")
        assert.strictEqual(c.value.stats.sessions, 2)
      }))

    it.scopedLive("client stopped: the user port stays bound and a waiting user is served by the next client", () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const s = yield* startServer(server(tunnelPort, [mapping(userPort, echo.port)]), {
          userWaitMillis: 4_000,
          authFailuresPerMinute: 10
        })
        const first = yield* startClient(client(tunnelPort))
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from("before"))).toString(), "before")
        yield* first.stop
        assert.isTrue(yield* eventually(() => s.value.hub.sessionId === undefined))
        const waiting = yield* Effect.fork(roundTrip(userPort, Buffer.from("during")))
        yield* Effect.sleep(300)
        yield* startClient(client(tunnelPort))
        assert.strictEqual((yield* waiting.await.pipe(Effect.flatten)).toString(), "during")
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from("after"))).toString(), "after")
      }))

    it.scopedLive("a target that refuses connections fails only that connection (a mux stream is reset, its session goes on)", () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const deadTarget = yield* freePort()
        const tunnelPort = yield* freePort()
        const goodPort = yield* freePort()
        const badPort = yield* freePort()
        const s = yield* startServer(server(tunnelPort, [mapping(goodPort, echo.port), mapping(badPort, deadTarget)]))
        const c = yield* startClient(client(tunnelPort))
        assert.isTrue(yield* eventually(() => ready(s)))
        const long = yield* Effect.fork(transfer(goodPort, 8 * MiB))
        const how = yield* connectAndWaitEnd(badPort, 3_000)
        // a stream is reset, as the target reset it; a pooled channel's user sees its end
        if (isMux(transport)) assert.strictEqual(how, "reset")
        else assert.notStrictEqual(how, "timeout")
        const result = yield* Effect.flatten(long.await)
        assert.strictEqual(result.receivedHash, result.sentHash)
        assert.strictEqual(c.value.stats.failed, 1)
        // the session that carried the stream carries on
        if (isMux(transport)) assert.strictEqual(s.value.stats.channels, 1)
        assert.strictEqual((yield* roundTrip(goodPort, Buffer.from("ok"))).toString(), "ok")
        assert.isDefined(s.value.hub.sessionId)
      }))

    it.scopedLive("a target that stops reading stalls the sender instead of filling memory; nothing is lost", () =>
      Effect.gen(function*() {
        const target = yield* Backpressure.stalledTarget
        const tunnelPort = yield* freePort()
        const userPort = yield* freePort()
        yield* startServer(server(tunnelPort, [mapping(userPort, target.port)]))
        yield* startClient(client(tunnelPort))
        const outcome = yield* Backpressure.stallThenDrain(userPort, target)
        // kernel socket buffers on three loopback hops hold some megabytes; a tunnel buffering in user space would take it all
        assert.isBelow(outcome.accepted, 96 * MiB)
        assert.strictEqual(outcome.received, outcome.accepted)
        assert.strictEqual(outcome.receivedHash, outcome.expectedHash)
      }), 60_000)
  })
}
