/**
 * The handshake over real loopback sockets: both sides agree, or both sides get the typed reason.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { TransportName } from "../../src/config/Config.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Tcp from "../../src/net/Tcp.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import type { Admitted, ClientParams } from "../../src/protocol/Handshake.ts"
import type { ProtocolError } from "../../src/protocol/Protocol.ts"

const options = { nodelay: true, keepaliveSeconds: 0 }

/** Runs one handshake between a server with `serverToken` and a client with `params`. */
const exchange = (serverToken: string, params: ClientParams, serverTransport: TransportName = "tcp") =>
  Effect.gen(function*() {
    const port = yield* freePort()
    const serverSide = yield* Deferred.make<Admitted, ProtocolError>()
    yield* Tcp.listen({ host: "127.0.0.1", port }, options, (socket, fork) =>
      fork(Deferred.complete(
        serverSide,
        Handshake.server(socket, {
          token: Redacted.make(serverToken),
          transport: serverTransport,
          isLiveSession: (id) => id.toString("hex") === "ab".repeat(16)
        })
      ).pipe(Effect.asVoid)))
    const socket = yield* Tcp.dial({ host: "127.0.0.1", port }, options, 5)
    const client = yield* Effect.either(Handshake.client(socket, params))
    const server = yield* Effect.either(Deferred.await(serverSide))
    return { client, server }
  })

describe("handshake over loopback", () => {
  it.scopedLive("the same token: a fresh session id for control, the same one for data", () =>
    Effect.gen(function*() {
      const control = yield* exchange("k", { token: Redacted.make("k"), transport: "tcp", kind: "control" })
      assert.strictEqual(control.client._tag, "Right")
      assert.strictEqual(control.server._tag, "Right")
      if (control.client._tag === "Right" && control.server._tag === "Right") {
        assert.isTrue(control.client.right.equals(control.server.right.sessionId))
        assert.strictEqual(control.server.right.kind, "control")
      }
      const sessionId = Buffer.from("ab".repeat(16), "hex")
      const data = yield* exchange("k", { token: Redacted.make("k"), transport: "tcp", kind: "data", sessionId })
      assert.strictEqual(data.server._tag === "Right" && data.server.right.kind, "data")
    }))

  it.scopedLive("a wrong token (wrong HMAC) fails on both sides as AuthFailed", () =>
    Effect.gen(function*() {
      const r = yield* exchange("right", { token: Redacted.make("wrong"), transport: "tcp", kind: "control" })
      assert.strictEqual(r.client._tag === "Left" && r.client.left.reason, "AuthFailed")
      assert.strictEqual(r.server._tag === "Left" && r.server.left.reason, "AuthFailed")
    }))

  it.scopedLive("a data channel for a session that is not live is refused", () =>
    Effect.gen(function*() {
      const r = yield* exchange("k", {
        token: Redacted.make("k"),
        transport: "tcp",
        kind: "data",
        sessionId: Buffer.alloc(16, 7)
      })
      assert.strictEqual(r.client._tag === "Left" && r.client.left.reason, "UnknownSession")
      assert.strictEqual(r.server._tag === "Left" && r.server.left.reason, "UnknownSession")
    }))

  it.scopedLive("a transport mismatch is named on both sides instead of hanging", () =>
    Effect.gen(function*() {
      const r = yield* exchange("k", { token: Redacted.make("k"), transport: "tcpmux", kind: "control" }, "tcp")
      assert.strictEqual(r.client._tag === "Left" && r.client.left.reason, "TransportMismatch")
      assert.strictEqual(r.server._tag === "Left" && r.server.left.reason, "TransportMismatch")
      if (r.client._tag === "Left") assert.include(r.client.left.detail, "\"tcp\"")
    }))
})
