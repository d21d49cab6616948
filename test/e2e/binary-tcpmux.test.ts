/**
 * The tcpmux guarantees through the compiled binary (Bun's native sockets): server and client as two
 * processes of `dist/backhaul` with `transport = "tcpmux"`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Backpressure from "../helpers/Backpressure.ts"
import * as BinaryTunnel from "../helpers/BinaryTunnel.ts"
import * as CutProxy from "../helpers/CutProxy.ts"
import { clientConfig, eventually, startClient } from "../helpers/Harness.ts"
import { hold } from "../helpers/Holder.ts"
import * as Processes from "../helpers/Processes.ts"
import { connectAndWaitEnd, halfCloseTarget, concurrentEchoes, pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024
const tcpmux = (sessions = 1, extra: ReadonlyArray<string> = []) => ({
  extra: ['transport = "tcpmux"', `mux_session = ${sessions}`, "heartbeat = 2", ...extra]
})

describe("compiled binary, tcpmux", () => {
  it.scopedLive("64 MiB each way hashed, 1,000 concurrent streams, half-close, a refusing target resets its stream only", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const halfClose = yield* halfCloseTarget
      const dead = yield* freePort()
      const { client, server, userPorts: [echoPort, halfPort, deadPort] } = yield* BinaryTunnel.tunnel(
        [echo.port, halfClose, dead],
        tcpmux()
      )
      const big = yield* Effect.fork(transfer(echoPort!, 64 * MiB))
      assert.strictEqual(yield* connectAndWaitEnd(deadPort!, 5_000), "reset")
      const t = yield* Effect.flatten(big.await)
      assert.strictEqual(t.received, 64 * MiB)
      assert.strictEqual(t.receivedHash, t.sentHash)

      assert.strictEqual(yield* concurrentEchoes(echoPort!, 1000, (i) => 512 + i * 7), 1000)

      const request = pattern(9, 2 * MiB)
      const reply = yield* roundTrip(halfPort!, request)
      assert.strictEqual(reply.toString(), `got ${request.length} bytes sha256=${sha256(request)}`)
      assert.strictEqual((yield* roundTrip(echoPort!, Buffer.from("still here"))).toString(), "still here")
      // one mux session carried everything: no session was re-opened
      assert.notInclude(client.output(), "re-opening")
      assert.notInclude(server.output(), "mux session")
    }), 120_000)

  it.scopedLive("mux_session = 4: cutting one session's connection fails only its streams; the client re-opens it", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      let proxy: CutProxy.CutProxy | undefined
      const { client, userPorts: [userPort] } = yield* BinaryTunnel.tunnel([echo.port], {
        ...tcpmux(4),
        via: (port) => Effect.map(CutProxy.make(port), (p) => ((proxy = p), p.port))
      })
      assert.isTrue(yield* eventually(() => proxy!.connections.length === 5))
      // connected is not admitted: the server's first bytes on a mux session (its ping) come only once it
      // has taken the session, and streams go to the sessions it has taken (CI saw one get none)
      assert.isTrue(yield* eventually(() => proxy!.connections.slice(1).every((s) => s.down > 0)))
      const holders = yield* Effect.forEach(Array.from({ length: 8 }, () => userPort!), hold)
      const line = "y".repeat(20_000)
      for (const h of holders) assert.strictEqual(yield* h.echo(line), line)
      const sessions = proxy!.connections.slice(1)
      for (const s of sessions) assert.isAtLeast(s.down, 2 * line.length, `session ${s.index}`)
      sessions[2]!.cut()
      assert.isTrue(yield* eventually(() => holders.filter((h) => h.dead()).length === 2))
      for (const h of holders.filter((h) => !h.dead())) assert.strictEqual(yield* h.echo("fine"), "fine")
      yield* client.waitFor(/mux session \d ended .*re-opening/)
      assert.isTrue(yield* eventually(() => proxy!.connections.length === 6))
      assert.strictEqual((yield* roundTrip(userPort!, Buffer.from("after"))).toString(), "after")
      assert.notInclude(client.output(), "session with") // the control session never ended
    }), 60_000)

  it.scopedLive("server restart: the client resumes; a wrong token reaches nothing", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const started = yield* BinaryTunnel.tunnel([echo.port], tcpmux())
      const userPort = started.userPorts[0]!
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("one"))).toString(), "one")
      yield* started.server.stop("SIGTERM")
      const again = yield* Processes.start(BinaryTunnel.binary, ["-c", started.clientConfig.replace("client.toml", "server.toml")])
      yield* again.waitFor(/user ports: 1 of 1 listening/)
      yield* started.client.waitFor(/connected to/)
      assert.isTrue(yield* eventually(() => (started.client.output().match(/connected to/g) ?? []).length === 2))
      yield* Effect.sleep(300)
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("two"))).toString(), "two")

      const target = yield* EchoServer.make()
      const other = yield* BinaryTunnel.server([target.port], { ...tcpmux(), token: "right" })
      const intruder = yield* Processes.start(BinaryTunnel.binary, ["-c", Processes.tempFiles({
        "c.toml": ["[client]", `remote_addr = "127.0.0.1:${other.tunnelPort}"`, 'transport = "tcpmux"', 'token = "wrong"'].join("\n")
      }) + "/c.toml"])
      yield* intruder.waitFor(/rejected the token/)
      assert.notStrictEqual(yield* connectAndWaitEnd(other.userPorts[0]!, 7_000), "timeout")
      assert.strictEqual(target.accepted(), 0)
    }), 60_000)

  it.scopedLive("the binary's server and an in-process client agree over tcpmux; backpressure holds", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const target = yield* Backpressure.stalledTarget
      const { tunnelPort, userPorts: [echoPort, stalledPort] } = yield* BinaryTunnel.server([echo.port, target.port], {
        ...tcpmux(),
        token: "test-secret"
      })
      yield* startClient(clientConfig(tunnelPort, { transport: "tcpmux" }))
      for (let i = 0; i < 5; i++) {
        const payload = pattern(40 + i, 300_000)
        assert.strictEqual(sha256(yield* roundTrip(echoPort!, payload)), sha256(payload))
      }
      const outcome = yield* Backpressure.stallThenDrain(stalledPort!, target)
      assert.isBelow(outcome.accepted, 96 * MiB)
      assert.strictEqual(outcome.received, outcome.accepted)
      assert.strictEqual(outcome.receivedHash, outcome.expectedHash)
    }), 60_000)
})
