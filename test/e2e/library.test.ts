/**
 * Another program embedding backhaul, through the public surface only (src/index.ts): configs from plain
 * objects, the tunnel layers on real sockets and on the in-memory network, transports composed by hand,
 * and what a running endpoint reports (status, events, counters).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { createHash, randomBytes } from "node:crypto"
import { Config, Network, Transports, Tunnel } from "../../src/index.ts"
import { freePort } from "../../src/net/FreePort.ts"

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/** An echo target on the provided network. */
const echo = (address: string) =>
  Network.serve(address, (c) => Stream.runForEach(c.read, c.write).pipe(Effect.zipRight(c.end)))

/** Sends `bytes` to `address` as a user and returns what came back, once the peer ended. */
const through = (address: string, bytes: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const user = yield* Network.open(address)
    const reading = yield* Effect.fork(Stream.runCollect(user.read))
    for (let i = 0; i < bytes.length; i += 65_536) yield* user.write(bytes.subarray(i, i + 65_536))
    yield* user.end
    return Buffer.concat(Chunk.toArray(yield* reading.await.pipe(Effect.flatten)))
  }))

const both = (server: Config.ServerConfig, client: Config.ClientConfig) =>
  Layer.merge(Tunnel.serverLayer(server), Tunnel.clientLayer(client))

describe("library surface", () => {
  it.effect("a config from a plain object fails with the messages a file gets, and fills the same defaults", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.flip(Config.server({ bind_addr: "127.0.0.1:3080", heartbeat: 0, ports: ["70000=1"] }))
      const file = yield* Effect.flip(Config.parse("[server]\nbind_addr = \"127.0.0.1:3080\"\nheartbeat = 0\nports = [\"70000=1\"]\n", "f.toml"))
      assert.strictEqual(bad._tag, "ConfigError")
      assert.deepStrictEqual(bad.problems, file.problems.map((p) => p.replace(/ \(line \d+\)/, "")))
      assert.isTrue(bad.problems.some((p) => p.startsWith("server.heartbeat:")))
      const good = Config.clientSync({ remote_addr: "127.0.0.1:3080", transport: "wsmux" })
      const fromFile = yield* Config.parse("[client]\nremote_addr = \"127.0.0.1:3080\"\ntransport = \"wsmux\"\n", "f.toml")
      assert.deepStrictEqual({ ...good, token: undefined }, { ...fromFile.config, token: undefined })
      assert.throws(() => Config.clientSync({ remote_addr: "nowhere" }), /client.remote_addr/)
      // a key set to undefined (an unset environment variable) is an absent key, not a bad value
      const unset: string | undefined = undefined
      assert.strictEqual(Config.clientSync({ remote_addr: "127.0.0.1:3080", tls_ca: unset }).tls_ca, undefined)
    }))

  for (const transport of ["tcp", "tcpmux", "ws", "wsmux"] as const) {
    it.scopedLive(`a whole tunnel runs on the in-memory network, hashed bytes intact: ${transport}`, () =>
      Effect.gen(function*() {
        const target = yield* echo("127.0.0.1:5000")
        assert.strictEqual(target.port, 5000)
        const server = Config.serverSync({ bind_addr: "0.0.0.0:3080", transport, token: "t", ports: ["4000=5000"] })
        const client = Config.clientSync({ remote_addr: "127.0.0.1:3080", transport, token: "t", retry_interval: 0.2 })
        const ctx = yield* Layer.build(both(server, client))
        yield* Effect.provide(Tunnel.awaitConnected, ctx)
        const bytes = randomBytes(3 * 1024 * 1024 + 17)
        const back = yield* through("127.0.0.1:4000", bytes)
        assert.strictEqual(sha(back), sha(bytes))
        const counters = yield* Effect.flatMap(Effect.provide(Tunnel.Server, ctx), (s) => s.counters)
        assert.strictEqual(counters.opened, 1)
      }).pipe(Effect.provide(Network.memory)))
  }

  it.scopedLive("a wss client on the in-memory network says why it cannot connect", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => lines.push(String(message))))
      const client = Config.clientSync({ remote_addr: "127.0.0.1:3080", transport: "wss", retry_interval: 0.2 })
      yield* Layer.build(Tunnel.clientLayer(client).pipe(Layer.provide(logger)))
      const until = Date.now() + 5_000
      while (!lines.some((l) => l.includes("TLS is not available on the in-memory network")) && Date.now() < until) {
        yield* Effect.sleep(50)
      }
      assert.isTrue(lines.some((l) => l.includes("TLS is not available on the in-memory network")), lines.join("\n"))
    }).pipe(Effect.provide(Network.memory)))

  it.scopedLive("status, events and counters follow sessions coming and going (real sockets)", () =>
    Effect.gen(function*() {
      const targetPort = (yield* echo("127.0.0.1:0")).port
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      const server = Config.serverSync({
        bind_addr: `127.0.0.1:${tunnelPort}`,
        token: "t",
        heartbeat: 1,
        ports: [`127.0.0.1:${userPort}=127.0.0.1:${targetPort}`]
      })
      const running = Tunnel.Server.pipe(Effect.provide(yield* Layer.build(Tunnel.serverLayer(server))))
      const endpoint = yield* running
      // subscribed before the client starts: no event can be missed
      const events = yield* Effect.fork(Stream.runCollect(Stream.take(yield* endpoint.subscribe, 2)))

      const client = Config.clientSync({ remote_addr: `127.0.0.1:${tunnelPort}`, token: "t", heartbeat: 1, retry_interval: 0.2 })
      const seenByClient = yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(Tunnel.clientLayer(client))
        const c = yield* Effect.provide(Tunnel.Client, ctx)
        yield* Effect.provide(Tunnel.awaitConnected, ctx)
        const status = yield* SubscriptionRef.get(c.status)
        const back = yield* through(`127.0.0.1:${userPort}`, Buffer.from("hello"))
        assert.strictEqual(back.toString(), "hello")
        const live = yield* endpoint.status.changes.pipe(Stream.filter((s) => s.sessions.length === 1), Stream.runHead)
        assert.isTrue(live._tag === "Some")
        const counted = yield* c.counters
        assert.strictEqual(counted.opened, 1)
        // subscribed while connected, then drained: the one event is the session ending
        const seen = yield* Effect.fork(Stream.runCollect(Stream.take(yield* c.subscribe, 1)))
        yield* c.drain
        // the status changes before the event is published
        const first = yield* seen.await.pipe(Effect.flatten)
        return { status, after: yield* SubscriptionRef.get(c.status), first }
      }))
      assert.isTrue(seenByClient.status.connected)
      assert.isFalse(seenByClient.after.connected)
      const ended = Chunk.toArray(seenByClient.first)
      assert.deepStrictEqual(ended.map((e) => e._tag), ["Disconnected"])
      assert.isTrue(ended[0]!._tag === "Disconnected" && ended[0]!.reason === "client stopped")
      // the client drained: it said goodbye, and the server saw the session end (not dead)
      const seen = Chunk.toArray(yield* events.await.pipe(Effect.flatten))
      assert.deepStrictEqual(seen.map((e) => e._tag), ["SessionStarted", "SessionEnded"])
      assert.isTrue(seen[1]!._tag === "SessionEnded" && !seen[1]!.dead)
      const after = yield* SubscriptionRef.get(endpoint.status)
      assert.strictEqual(after.sessions.length, 0)
    }).pipe(Effect.provide(Network.tcp)))

  const carrier = Transports.tcpCarrier({ keepaliveSeconds: 20, dialTimeoutSeconds: 5 })
  const ws = Transports.wsCarrier({
    name: "ws",
    path: "/embedded",
    pingSeconds: 25,
    keepaliveSeconds: 20,
    dialTimeoutSeconds: 5,
    trusted: Transports.trustedProxies([])
  })
  const settings = { maxFrame: 32768, streamWindow: 1 << 20, sessionWindow: 4 << 20 }
  const composed = {
    "pooled channels over the tcp carrier": Transports.pooled("tcp").pipe(Layer.provide(carrier)),
    "the multiplexer over the tcp carrier": Transports.mux("tcpmux", settings).pipe(Layer.provide(carrier)),
    "the multiplexer over the WebSocket carrier": Transports.mux("wsmux", settings).pipe(Layer.provide(ws))
  }
  for (const [what, transport] of Object.entries(composed)) {
    it.scopedLive(`a program composes its own transport: ${what}`, () =>
      Effect.gen(function*() {
        const targetPort = (yield* echo("127.0.0.1:0")).port
        const tunnelPort = yield* freePort()
        const userPort = yield* freePort()
        const server = Config.serverSync({ bind_addr: `127.0.0.1:${tunnelPort}`, token: "e", ports: [`127.0.0.1:${userPort}=127.0.0.1:${targetPort}`] })
        const client = Config.clientSync({ remote_addr: `127.0.0.1:${tunnelPort}`, token: "e" })
        const app = Layer.merge(Tunnel.serverRole(server), Tunnel.clientRole(client)).pipe(Layer.provide(transport))
        const ctx = yield* Layer.build(app)
        yield* Effect.provide(Tunnel.awaitConnected, ctx)
        const bytes = randomBytes(1024 * 1024)
        assert.strictEqual(sha(yield* through(`127.0.0.1:${userPort}`, bytes)), sha(bytes))
        const endpoint = yield* Effect.provide(Tunnel.Server, ctx)
        assert.strictEqual(endpoint.tunnelAddress.port, tunnelPort)
        assert.strictEqual((yield* endpoint.counters).sessions, 1)
      }).pipe(Effect.provide(Network.tcp)))
  }
})
