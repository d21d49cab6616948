/**
 * End to end over loopback, what is particular to the multiplexed transports (tcpmux, wsmux): every user
 * connection a stream of a multiplexer session, a session's failure confined to its own streams. What
 * every transport does is in transports.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import type { ClientConfig, ServerConfig } from "../../src/config/Config.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Backpressure from "../helpers/Backpressure.ts"
import * as CutProxy from "../helpers/CutProxy.ts"
import { clientConfig, echoSetup, eventually, mapping, serverConfig, startClient, startServer } from "../helpers/Harness.ts"
import { hold } from "../helpers/Holder.ts"
import { concurrentEchoes, pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024
for (const transport of ["tcpmux", "wsmux"] as const) {
  const mux = { transport }

  const muxServer = (tunnelPort: number, ports: ServerConfig["ports"], overrides: Partial<ServerConfig> = {}) =>
    serverConfig(tunnelPort, ports, { ...mux, ...overrides })
  const muxClient = (tunnelPort: number, overrides: Partial<ClientConfig> = {}) =>
    clientConfig(tunnelPort, { ...mux, ...overrides })

  /** Echo target, mux server with one user port to it, connected client with its sessions up. */
  const echoTunnel = (sessions = 1) =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(muxServer(tunnelPort, [mapping(userPort, echo.port)], { mux_session: sessions }))
      const client = yield* startClient(muxClient(tunnelPort, { mux_session: sessions }))
      assert.isTrue(yield* eventually(() => server.value.hub.readyCount === sessions))
      return { echo, tunnelPort, userPort, server, client }
    })

  describe(`${transport} transport, streams`, () => {
    it.scopedLive("1,000 concurrent streams on one session each echo their own data", () =>
      Effect.gen(function*() {
        const { echo, server, userPort } = yield* echoTunnel()
        assert.strictEqual(yield* concurrentEchoes(userPort, 1000, (i) => 1000 + i * 13), 1000)
        assert.strictEqual(echo.accepted(), 1000)
        assert.isTrue(yield* eventually(() => server.value.stats.active === 0))
        assert.strictEqual(server.value.stats.opened, 1000)
        assert.strictEqual(server.value.stats.channels, 1)
      }), 60_000)

    it.scopedLive("mux_session = 4 spreads streams over four connections; cutting one fails only its streams, and the client re-opens it", () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const proxy = yield* CutProxy.make(tunnelPort)
        const server = yield* startServer(muxServer(tunnelPort, [mapping(userPort, echo.port)], { mux_session: 4 }))
        const client = yield* startClient(muxClient(proxy.port, { mux_session: 4 }))
        assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 4))
        assert.strictEqual(proxy.connections.length, 5) // the control channel, then four sessions
        const holders = yield* Effect.forEach(Array.from({ length: 8 }, () => userPort), hold)
        const line = "x".repeat(20_000)
        for (const h of holders) assert.strictEqual(yield* h.echo(line), line)
        // least loaded first: two streams on each session, each of which carried two users' bytes
        const sessions = proxy.connections.slice(1)
        for (const s of sessions) assert.isAtLeast(s.down, 2 * line.length, `session ${s.index}`)
        for (const s of sessions) assert.isBelow(s.down, 3 * line.length, `session ${s.index}`)
        sessions[1]!.cut()
        assert.isTrue(yield* eventually(() => holders.filter((h) => h.dead()).length === 2))
        yield* Effect.sleep(200)
        assert.strictEqual(holders.filter((h) => h.dead()).length, 2)
        for (const h of holders.filter((h) => !h.dead())) assert.strictEqual(yield* h.echo("still"), "still")
        // the client re-opens the session on its schedule; the control session never noticed
        assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 4 && proxy.connections.length === 6))
        assert.strictEqual(client.value.stats.sessions, 1)
        assert.strictEqual((yield* roundTrip(userPort, Buffer.from("after"))).toString(), "after")
      }), 60_000)

    it.scopedLive("a stream whose target stops reading stalls only itself: bulk on the same session completes meanwhile", () =>
      Effect.gen(function*() {
        const target = yield* Backpressure.stalledTarget
        const echo = yield* EchoServer.make()
        const tunnelPort = yield* freePort()
        const stalledPort = yield* freePort()
        const bulkPort = yield* freePort()
        const server = yield* startServer(muxServer(tunnelPort, [mapping(stalledPort, target.port), mapping(bulkPort, echo.port)]))
        yield* startClient(muxClient(tunnelPort))
        assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 1))
        // 48 MiB offered to a target that reads nothing (what the tunnel does not take waits in this process)
        const offered = pattern(5, 48 * MiB)
        const user = net.connect({ host: "127.0.0.1", port: stalledPort }, () => user.end(offered))
        user.on("error", () => {})
        assert.isTrue(yield* eventually(() => target.sockets.length === 1))
        yield* Effect.sleep(500)
        const bulk = yield* transfer(bulkPort, 32 * MiB)
        assert.strictEqual(bulk.receivedHash, bulk.sentHash)
        // the stalled target still has read nothing; now it reads, and gets every byte in order
        const stalled = target.sockets[0]!
        const received = yield* Effect.async<Buffer>((resume) => {
          const chunks: Array<Buffer> = []
          stalled.on("data", (c: Buffer) => chunks.push(c))
          stalled.on("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
          stalled.resume()
        })
        assert.strictEqual(received.length, offered.length)
        assert.strictEqual(sha256(received), sha256(offered))
        user.destroy()
      }), 60_000)

  })
}
