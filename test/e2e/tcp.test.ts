/**
 * End to end over loopback with the tcp transport: real server, client and targets in-process.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as net from "node:net"
import * as EchoServer from "../../src/net/EchoServer.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { freePort } from "../../src/net/FreePort.ts"
import { clientConfig, echoSetup, eventually, mapping, serverConfig, startClient, startServer } from "../helpers/Harness.ts"
import * as Backpressure from "../helpers/Backpressure.ts"
import { connectAndWaitEnd, halfCloseTarget, pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024

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

describe("tcp transport, end to end", () => {
  it.scopedLive("carries 64 MiB each way exactly (sha256)", () =>
    Effect.gen(function*() {
      const { userPort } = yield* echoTunnel()
      const result = yield* transfer(userPort, 64 * MiB)
      assert.strictEqual(result.sent, 64 * MiB)
      assert.strictEqual(result.received, 64 * MiB)
      assert.strictEqual(result.receivedHash, result.sentHash)
    }), 120_000)

  it.scopedLive("200 concurrent connections each echo their own data", () =>
    Effect.gen(function*() {
      const { echo, server, userPort } = yield* echoTunnel()
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => {
          const payload = pattern(i + 1, 4096 + i * 37)
          return Effect.map(roundTrip(userPort, payload), (back) => sha256(back) === sha256(payload))
        },
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Boolean).length, 200)
      assert.strictEqual(echo.accepted(), 200)
      yield* eventually(() => server.value.stats.active === 0)
      assert.strictEqual(server.value.stats.opened, 200)
      assert.strictEqual(server.value.stats.active, 0)
    }))

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
      ], { connection_pool: 2 }))
      const client = yield* startClient(clientConfig(tunnelPort))
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

  it.scopedLive("half-close: the user ends its writes and still receives the reply", () =>
    Effect.gen(function*() {
      const target = yield* halfCloseTarget
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, target)]))
      yield* startClient(clientConfig(tunnelPort))
      const request = pattern(7, 300_000)
      const reply = yield* roundTrip(userPort, request)
      assert.strictEqual(reply.toString(), `got ${request.length} bytes sha256=${sha256(request)}`)
    }))

  it.scopedLive("a wrong token is rejected and nothing reaches the target", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)]), {
        userWaitMillis: 500,
        authFailuresPerMinute: 100
      })
      const client = yield* startClient(clientConfig(tunnelPort, { token: Redacted.make("not-the-secret") }), false)
      assert.isTrue(yield* eventually(() => server.value.stats.rejected >= 2))
      const how = yield* connectAndWaitEnd(userPort, 3_000)
      assert.notStrictEqual(how, "timeout")
      assert.strictEqual(echo.accepted(), 0)
      assert.strictEqual(client.value.stats.sessions, 0)
      assert.strictEqual(server.value.stats.sessions, 0)
    }))

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

  it.scopedLive("server restart: the client reconnects and traffic resumes", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const config = serverConfig(tunnelPort, [mapping(userPort, echo.port)])
      const first = yield* startServer(config)
      const client = yield* startClient(clientConfig(tunnelPort))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("one"))).toString(), "one")
      yield* first.stop
      assert.isTrue(yield* eventually(() => client.value.stats.sessions === 1))
      const second = yield* startServer(config)
      assert.isTrue(yield* eventually(() => second.value.stats.sessions === 1 && second.value.hub.readyCount > 0))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("two"))).toString(), "two")
      assert.strictEqual(client.value.stats.sessions, 2)
    }))

  it.scopedLive("client killed: the user port stays bound and a new client restores service", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)]), {
        userWaitMillis: 4_000,
        authFailuresPerMinute: 10
      })
      const first = yield* startClient(clientConfig(tunnelPort))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("before"))).toString(), "before")
      yield* first.stop
      assert.isTrue(yield* eventually(() => server.value.hub.sessionId === undefined))
      // the port is still bound: a connection made now waits for a tunnel, and is served once one is back
      const waiting = yield* Effect.fork(roundTrip(userPort, Buffer.from("during")))
      yield* Effect.sleep(300)
      yield* startClient(clientConfig(tunnelPort))
      assert.strictEqual((yield* waiting.await.pipe(Effect.flatten)).toString(), "during")
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("after"))).toString(), "after")
    }))

  it.scopedLive("a target that refuses connections fails only that connection", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const deadTarget = yield* freePort()
      const tunnelPort = yield* freePort()
      const goodPort = yield* freePort()
      const badPort = yield* freePort()
      const server = yield* startServer(
        serverConfig(tunnelPort, [mapping(goodPort, echo.port), mapping(badPort, deadTarget)])
      )
      const client = yield* startClient(clientConfig(tunnelPort))
      const long = yield* Effect.fork(transfer(goodPort, 8 * MiB))
      const bad = yield* roundTrip(badPort, Buffer.from("nobody home")).pipe(Effect.either)
      assert.isTrue(bad._tag === "Left" || bad.right.length === 0)
      const result = yield* Effect.flatten(long.await)
      assert.strictEqual(result.receivedHash, result.sentHash)
      assert.strictEqual(client.value.stats.failed, 1)
      assert.strictEqual((yield* roundTrip(goodPort, Buffer.from("ok"))).toString(), "ok")
      assert.strictEqual(server.value.hub.sessionId !== undefined, true)
    }))
})

describe("tcp transport, backpressure", () => {
  it.scopedLive("a target that stops reading stalls the sender instead of filling memory; nothing is lost", () =>
    Effect.gen(function*() {
      const target = yield* Backpressure.stalledTarget
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, target.port)]))
      yield* startClient(clientConfig(tunnelPort))
      const outcome = yield* Backpressure.stallThenDrain(userPort, target)
      // kernel socket buffers on three loopback hops hold some megabytes; a tunnel buffering in user space would take it all
      assert.isBelow(outcome.accepted, 96 * MiB)
      assert.strictEqual(outcome.received, outcome.accepted)
      assert.strictEqual(outcome.receivedHash, outcome.expectedHash)
    }), 60_000)
})
