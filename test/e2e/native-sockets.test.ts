/**
 * The data-path guarantees again, through the compiled binary: server and client as two processes of
 * `dist/backhaul`, which run on Bun's native sockets (`BunConn`) rather than the `node:net` backend the
 * in-process suites use. Bytes in equal bytes out, half-close, a reset crossing the tunnel, a refusing
 * target, concurrency, and backpressure.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Backpressure from "../helpers/Backpressure.ts"
import { clientConfig, startClient } from "../helpers/Harness.ts"
import * as BinaryTunnel from "../helpers/BinaryTunnel.ts"
import { halfCloseTarget, pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024

/** A target that writes a little, then resets the connection. */
const resettingTarget = Effect.acquireRelease(
  Effect.async<net.Server>((resume) => {
    const server = net.createServer((s) => {
      s.on("error", () => {})
      s.write("about to reset\n", () => setTimeout(() => s.resetAndDestroy(), 50))
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.sync(() => server.close())
).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

/** Connects, sends a line, and reports how the connection ended and what it received. */
const untilClosed = (port: number) =>
  Effect.async<{ readonly how: "end" | "reset" | "timeout"; readonly got: string }>((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write("hello\n"))
    let got = ""
    let how: "end" | "reset" | undefined
    const timer = setTimeout(() => socket.destroy(), 5_000)
    socket.on("data", (c) => (got += c.toString()))
    socket.on("end", () => (how ??= "end"))
    socket.on("error", () => (how = "reset"))
    socket.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed({ how: how ?? "timeout", got }))
    })
    return Effect.sync(() => socket.destroy())
  })

describe("compiled binary on Bun's native sockets", () => {
  it.scopedLive("bytes in equal bytes out, half-close, resets and refusals cross the tunnel", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const halfClose = yield* halfCloseTarget
      const resetting = yield* resettingTarget
      const dead = yield* freePort()
      const { client, userPorts: [echoPort, halfPort, resetPort, deadPort] } = yield* BinaryTunnel.tunnel([
        echo.port,
        halfClose,
        resetting,
        dead
      ])

      // 48 MiB each way at once, hashed, while a refusing target fails its own connection only
      const big = yield* Effect.fork(transfer(echoPort!, 48 * MiB))
      const refused = yield* untilClosed(deadPort!)
      assert.notStrictEqual(refused.how, "timeout")
      assert.strictEqual(refused.got, "")
      const t = yield* Effect.flatten(big.await)
      assert.strictEqual(t.received, 48 * MiB)
      assert.strictEqual(t.receivedHash, t.sentHash)

      // 200 concurrent connections, each with its own bytes
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => {
          const payload = pattern(i + 1, 2048 + i * 53)
          return Effect.map(roundTrip(echoPort!, payload), (back) => sha256(back) === sha256(payload))
        },
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Boolean).length, 200)

      // half-close: the request's end crosses, the reply still comes back
      const request = pattern(9, 700_000)
      const reply = yield* roundTrip(halfPort!, request)
      assert.strictEqual(reply.toString(), `got ${request.length} bytes sha256=${sha256(request)}`)

      // a target's reset reaches the user as a reset, after the bytes sent before it
      const reset = yield* untilClosed(resetPort!)
      assert.strictEqual(reset.got, "about to reset\n")
      assert.strictEqual(reset.how, "reset")

      // and the tunnel still serves
      assert.strictEqual((yield* roundTrip(echoPort!, Buffer.from("still here"))).toString(), "still here")
      assert.notInclude(client.output(), "unexpected")
    }), 90_000)

  it.scopedLive("the binary's server (Bun sockets and hasher) and an in-process client (node:net, node:crypto) agree", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const { tunnelPort, userPorts: [userPort] } = yield* BinaryTunnel.server([echo.port], { token: "test-secret" })
      yield* startClient(clientConfig(tunnelPort))
      for (let i = 0; i < 5; i++) {
        const payload = pattern(40 + i, 70_000)
        assert.strictEqual(sha256(yield* roundTrip(userPort!, payload)), sha256(payload))
      }
    }), 30_000)

  it.scopedLive("a target that stops reading stalls the sender; nothing is lost", () =>
    Effect.gen(function*() {
      const target = yield* Backpressure.stalledTarget
      const { userPorts: [userPort] } = yield* BinaryTunnel.tunnel([target.port])
      const outcome = yield* Backpressure.stallThenDrain(userPort!, target)
      assert.isBelow(outcome.accepted, 96 * MiB)
      assert.strictEqual(outcome.received, outcome.accepted)
      assert.strictEqual(outcome.receivedHash, outcome.expectedHash)
    }), 60_000)
})
