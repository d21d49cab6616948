/**
 * The handshake over real loopback sockets: both sides agree, or both sides get the typed reason.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Redacted from "effect/Redacted"
import type { TransportName } from "../../src/config/Config.ts"
import type { Conn } from "../../src/net/Conn.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Tcp from "../helpers/Net.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import type { Admitted } from "../../src/protocol/Handshake.ts"
import type { ProtocolError } from "../../src/protocol/Protocol.ts"
import * as ReplayWindow from "../../src/server/ReplayWindow.ts"

const options = { nodelay: true, keepaliveSeconds: 0 }
const live = Buffer.from("ab".repeat(16), "hex")

/** A server with `serverToken` on a fresh port; `client` runs against it and both outcomes are returned. */
const exchange = <A>(
  serverToken: string,
  client: (conn: Conn) => Effect.Effect<A, ProtocolError>,
  serverTransport: TransportName = "tcp"
) =>
  Effect.gen(function*() {
    const port = yield* freePort()
    const serverSide = yield* Deferred.make<Admitted, ProtocolError>()
    const replays = ReplayWindow.make()
    const fork = yield* FiberSet.makeRuntime<never, unknown, never>()
    yield* Tcp.listen({ host: "127.0.0.1", port }, options, (conn) =>
      fork(Deferred.complete(
        serverSide,
        Handshake.server(conn, {
          token: Redacted.make(serverToken),
          transport: serverTransport,
          admitData: (id) => !id.sessionId.equals(live) ? "unknown" : replays.admit(id.counter) ? "ok" : "replayed",
          admitControl: () => true
        })
      ).pipe(Effect.asVoid)))
    const conn = yield* Tcp.dial({ host: "127.0.0.1", port }, options, 5)
    const clientSide = yield* Effect.either(client(conn))
    const server = yield* Effect.either(Deferred.await(serverSide))
    return { client: clientSide, server, conn }
  })

const control = (token: string, transport: TransportName = "tcp") => (conn: Conn) =>
  Handshake.client(conn, { token: Redacted.make(token), transport, instance: Buffer.alloc(16, 7) })

/** Sends a data hello (copied `times` times over fresh connections is the caller's business). */
const data = (token: string, sessionId: Buffer, counter: number) => (conn: Conn) =>
  Effect.sync(() => Handshake.dataHello(conn, Redacted.make(token), "tcp", { sessionId, counter }))

describe("handshake over loopback", () => {
  it.scopedLive("control: both sides agree on a fresh session id", () =>
    Effect.gen(function*() {
      const r = yield* exchange("k", control("k"))
      assert.strictEqual(r.client._tag, "Right")
      assert.strictEqual(r.server._tag, "Right")
      if (r.client._tag === "Right" && r.server._tag === "Right") {
        assert.isTrue(r.client.right.equals(r.server.right.sessionId))
        assert.strictEqual(r.server.right.kind, "control")
      }
    }))

  it.scopedLive("a wrong token (wrong HMAC) fails on both sides as AuthFailed", () =>
    Effect.gen(function*() {
      const r = yield* exchange("right", control("wrong"))
      assert.strictEqual(r.client._tag === "Left" && r.client.left.reason, "AuthFailed")
      assert.strictEqual(r.server._tag === "Left" && r.server.left.reason, "AuthFailed")
    }))

  it.scopedLive("data: one message admits a channel of the live session with its counter", () =>
    Effect.gen(function*() {
      const r = yield* exchange("k", data("k", live, 7))
      assert.strictEqual(r.server._tag, "Right")
      if (r.server._tag === "Right") assert.deepStrictEqual(r.server.right, { kind: "data", sessionId: live, counter: 7 })
    }))

  it.scopedLive("data: a wrong token, an unknown session and a replayed counter are refused", () =>
    Effect.gen(function*() {
      const wrong = yield* exchange("k", data("other", live, 1))
      assert.strictEqual(wrong.server._tag === "Left" && wrong.server.left.reason, "AuthFailed")
      const unknown = yield* exchange("k", data("k", Buffer.alloc(16, 7), 1))
      assert.strictEqual(unknown.server._tag === "Left" && unknown.server.left.reason, "UnknownSession")
    }))

  it.scopedLive("data: the same hello sent twice to one server is admitted once", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const results: Array<string> = []
      const replays = ReplayWindow.make()
      const params = {
        token: Redacted.make("k"),
        transport: "tcp" as const,
        admitData: (id: Handshake.DataChannelId) => replays.admit(id.counter) ? "ok" as const : "replayed" as const,
        admitControl: () => true as const
      }
      yield* Tcp.listen({ host: "127.0.0.1", port }, options, (conn) =>
        Handshake.serverCb(conn, params, (error) => results.push(error ? error.reason : "ok")))
      for (let i = 0; i < 2; i++) {
        const conn = yield* Tcp.dial({ host: "127.0.0.1", port }, options, 5)
        Handshake.dataHello(conn, params.token, "tcp", { sessionId: live, counter: 42 })
      }
      yield* Effect.sleep(200)
      assert.deepStrictEqual(results, ["ok", "AuthFailed"])
    }))

  it.scopedLive("a Connect is genuine only with the token, for its own channel and its own use", () =>
    Effect.sync(() => {
      const token = Redacted.make("k")
      const id = { sessionId: live, counter: 3 }
      const frame = Handshake.connectFrame(token, id, 2, 80, "127.0.0.1:8080")
      if (frame._tag !== "Connect") throw new Error("not a Connect")
      assert.isTrue(Handshake.connectIsGenuine(token, id, 2, frame))
      assert.isFalse(Handshake.connectIsGenuine(Redacted.make("x"), id, 2, frame))
      assert.isFalse(Handshake.connectIsGenuine(token, { ...id, counter: 4 }, 2, frame))
      assert.isFalse(Handshake.connectIsGenuine(token, id, 2, { ...frame, target: "10.0.0.1:22" }))
      // an earlier Connect replayed on the channel is not the one expected next
      assert.isFalse(Handshake.connectIsGenuine(token, id, 3, frame))
      assert.isFalse(Handshake.connectIsGenuine(token, id, 3, { ...frame, use: 3 }))
    }))

  it.scopedLive("a transport mismatch is named on both sides instead of hanging", () =>
    Effect.gen(function*() {
      const r = yield* exchange("k", control("k", "tcpmux"), "tcp")
      assert.strictEqual(r.client._tag === "Left" && r.client.left.reason, "TransportMismatch")
      assert.strictEqual(r.server._tag === "Left" && r.server.left.reason, "TransportMismatch")
      if (r.client._tag === "Left") assert.include(r.client.left.detail, "\"tcp\"")
    }))
})
