/**
 * End to end over loopback, what is particular to pooled transports (tcp, ws): data channels reused
 * connection after connection, and the tcp carrier's answer to strangers on its port (silence). What
 * every transport does is in transports.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import * as EchoServer from "../../src/net/EchoServer.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { freePort } from "../../src/net/FreePort.ts"
import {
  clientConfig,
  echoSetup,
  eventually,
  mapping,
  serverConfig,
  startClient,
  startServer,
  transportConfigs
} from "../helpers/Harness.ts"
import { halfCloseTarget, pattern, roundTrip, sha256 } from "../helpers/Sockets.ts"

/** Echo target, server with one user port to it, connected client. */
const echoTunnel = (overrides: { pool?: number } = {}) =>
  Effect.gen(function*() {
    const { echo, tunnelPort, userPort } = yield* echoSetup
    const server = yield* startServer(
      serverConfig(tunnelPort, [mapping(userPort, echo.port)], { connection_pool: overrides.pool ?? 8 })
    )
    const client = yield* startClient(clientConfig(tunnelPort))
    return { echo, tunnelPort, userPort, server, client }
  })

for (const transport of ["tcp", "ws"] as const) {
  const configs = transportConfigs(transport)
  describe(`${transport} transport, pooled data channels`, () => {
    it.scopedLive("data channels carry one connection after another; a broken connection's channel is not reused", () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const halfClose = yield* halfCloseTarget
        const dead = yield* freePort()
        const tunnelPort = yield* freePort()
        const [echoPort, halfPort, deadPort] = [yield* freePort(), yield* freePort(), yield* freePort()]
        const server = yield* startServer(serverConfig(tunnelPort, [
          mapping(echoPort, echo.port),
          mapping(halfPort, halfClose),
          mapping(deadPort, dead)
        ], { ...configs.server, connection_pool: 2 }))
        const client = yield* startClient(clientConfig(tunnelPort, configs.client))
        // 30 connections one after another, alternating targets and sizes (some bigger than a frame chunk)
        for (let i = 0; i < 30; i++) {
          const payload = pattern(i + 11, i % 3 === 0 ? 300_000 : 100 + i)
          if (i % 2 === 0) {
            assert.strictEqual(sha256(yield* roundTrip(echoPort, payload)), sha256(payload), `echo ${i}`)
          } else {
            const reply = (yield* roundTrip(halfPort, payload)).toString()
            assert.strictEqual(reply, `got ${payload.length} bytes sha256=${sha256(payload)}`, `half-close ${i}`)
          }
        }
        // a handful of channels served all 30
        assert.isAtMost(server.value.stats.channels, 6)
        assert.strictEqual(server.value.stats.opened, 30)
        // a target that refuses: that connection fails, its channel is closed, the next ones still work
        const before = server.value.stats.channels
        const bad = yield* roundTrip(deadPort, Buffer.from("nobody home")).pipe(Effect.either)
        assert.isTrue(bad._tag === "Left" || bad.right.length === 0)
        assert.strictEqual((yield* roundTrip(echoPort, Buffer.from("after"))).toString(), "after")
        assert.isTrue(yield* eventually(() => server.value.stats.channels > before || client.value.stats.failed === 1))
        assert.strictEqual(client.value.stats.failed, 1)
      }))
  })
}

describe("tcp transport, strangers on the tunnel port", () => {
  it.scopedLive("an HTTP request on the tunnel port is refused and closed; the server keeps serving", () =>
    Effect.gen(function*() {
      const { server, tunnelPort, userPort } = yield* echoTunnel()
      const answer = yield* Effect.async<string>((resume) => {
        const chunks: Array<Buffer> = []
        const s = net.connect({ host: "127.0.0.1", port: tunnelPort }, () => s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        s.on("data", (c: Buffer) => chunks.push(c))
        s.on("error", () => {})
        s.on("close", () => resume(Effect.succeed(Buffer.concat(chunks).toString("latin1"))))
      }).pipe(Effect.timeout(3_000))
      assert.strictEqual(answer, "")
      assert.isAtLeast(server.value.stats.rejected, 1)
      const back = yield* roundTrip(userPort, Buffer.from("still here"))
      assert.strictEqual(back.toString(), "still here")
    }))

  it.scopedLive("garbage on the tunnel port (random bytes, truncated and corrupted handshakes) never disturbs the tunnel", () =>
    Effect.gen(function*() {
      const { server, tunnelPort, userPort } = yield* echoTunnel()
      const hello = P.encodeClientHello({ kind: "data", transport: "tcp", nonce: Buffer.alloc(32, 1) })
      const payloads = Array.from({ length: 120 }, (_, i) => {
        const random = pattern(i + 11, 1 + (i * 37) % 300)
        switch (i % 4) {
          case 0:
            return random
          case 1:
            return Buffer.concat([P.MAGIC, random]) // right magic, garbage after it
          case 2:
            return hello.subarray(0, i % hello.length) // truncated hello, then close
          default:
            return Buffer.concat([hello, random]) // a hello followed by a garbage proof
        }
      })
      yield* Effect.forEach(payloads, (payload) => roundTrip(tunnelPort, payload).pipe(Effect.either), { concurrency: 20 })
      assert.isAtLeast(server.value.stats.rejected, 100)
      assert.strictEqual(server.value.stats.sessions, 1)
      // more connections than the pool holds: replacement data channels from the client's address still get in
      for (let i = 0; i < 20; i++) {
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from(`unharmed ${i}`))).toString(), `unharmed ${i}`)
      }
    }))

})
