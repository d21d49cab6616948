/**
 * The client's control handshake against loopback fake servers that are not backhaul: each is named for
 * what it is (HTTP, TLS, SSH, anything else), also when it closes before the 40 bytes of a hello, and a
 * real backhaul hello cut short still reads as truncated.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { rmSync } from "node:fs"
import * as net from "node:net"
import * as tls from "node:tls"
import { readFileSync } from "node:fs"
import * as Tcp from "../helpers/Net.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import * as P from "../../src/protocol/Protocol.ts"
import * as Auth from "../../src/protocol/Auth.ts"
import * as Certs from "../helpers/Certs.ts"

const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

/** A listener that answers every connection with `reply`, then closes it (or holds it open). */
const fakeServer = (reply: Buffer, close = true): Effect.Effect<number, never, Scope.Scope> =>
  listening(net.createServer((socket) => {
    socket.on("error", () => {})
    socket.write(reply)
    if (close) socket.end()
  }))

const listening = (server: net.Server): Effect.Effect<number, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<net.Server>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (s) => Effect.sync(() => s.close())
    ),
    (s) => (s.address() as net.AddressInfo).port
  )

const params = { token: Redacted.make("k"), transport: "tcp" as const, instance: Buffer.alloc(16, 1) }

/** Runs the client's control handshake against `port`; the error it fails with. */
const handshakeError = (port: number) =>
  Effect.gen(function*() {
    const conn = yield* Tcp.dial({ host: "127.0.0.1", port }, { nodelay: true, keepaliveSeconds: 0 }, 5)
    const result = yield* Effect.either(
      Handshake.client(conn, params).pipe(
        Effect.timeout(5_000)
      )
    )
    conn.destroy()
    if (result._tag === "Right") throw new Error("the handshake succeeded against a fake server")
    if (result.left._tag !== "ProtocolError") throw new Error(`not a ProtocolError: ${String(result.left)}`)
    return result.left
  })

const http400 = Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n", "latin1")
// what a TLS server writes when it reads our plain-text hello: an alert record (fatal, protocol_version)
const tlsAlert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])

describe("the client's handshake against a server that is not backhaul", () => {
  it.scopedLive("an HTTP reply of 28 bytes, then close: looks like HTTP, not Truncated", () =>
    Effect.gen(function*() {
      assert.strictEqual(http400.length, 28)
      const e = yield* handshakeError(yield* fakeServer(http400))
      assert.strictEqual(e.reason, "NotBackhaul")
      assert.include(e.detail, "not a backhaul server (looks like HTTP")
    }))

  it.scopedLive("a long HTTP reply on a connection left open: looks like HTTP", () =>
    Effect.gen(function*() {
      const reply = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${"x".repeat(100)}`, "latin1")
      const e = yield* handshakeError(yield* fakeServer(reply, false))
      assert.strictEqual(e.reason, "NotBackhaul")
      assert.include(e.detail, "looks like HTTP")
    }))

  it.scopedLive("a TLS alert (7 bytes): looks like TLS, and the transport to check is named", () =>
    Effect.gen(function*() {
      const e = yield* handshakeError(yield* fakeServer(tlsAlert))
      assert.strictEqual(e.reason, "NotBackhaul")
      assert.include(e.detail, "looks like TLS: is the server's transport wss?")
    }))

  it.scopedLive("a real TLS server (node:tls, as wss runs) closes without a byte: the message asks about wss", () =>
    Effect.gen(function*() {
      const server = tls.createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) })
      server.on("tlsClientError", () => {})
      const e = yield* handshakeError(yield* listening(server))
      assert.strictEqual(e.reason, "Closed")
      assert.include(e.detail, "is the server's transport wss?")
    }))

  it.scopedLive("an SSH banner: looks like SSH", () =>
    Effect.gen(function*() {
      const e = yield* handshakeError(yield* fakeServer(Buffer.from("SSH-2.0-OpenSSH_9.6\r\n", "latin1"), false))
      assert.strictEqual(e.reason, "NotBackhaul")
      assert.include(e.detail, "looks like SSH")
    }))

  it.scopedLive("anything else, even 3 bytes then close: not a backhaul server, with what it sent", () =>
    Effect.gen(function*() {
      const e = yield* handshakeError(yield* fakeServer(Buffer.from("220", "latin1")))
      assert.strictEqual(e.reason, "NotBackhaul")
      assert.strictEqual(e.detail, `not a backhaul server (it sent "220")`)
    }))

  it.scopedLive("a server that closes without a byte: Closed, saying it may not be backhaul", () =>
    Effect.gen(function*() {
      const e = yield* handshakeError(yield* fakeServer(Buffer.alloc(0)))
      assert.strictEqual(e.reason, "Closed")
      assert.include(e.detail, "before its hello: not a backhaul server")
    }))

  it.scopedLive("a backhaul hello cut short is Truncated, not foreign", () =>
    Effect.gen(function*() {
      const hello = P.encodeServerHello(P.Status.Ok, "tcp", Auth.nonce())
      for (const cut of [2, 20]) {
        const e = yield* handshakeError(yield* fakeServer(hello.subarray(0, cut)))
        assert.strictEqual(e.reason, "Truncated", `cut at ${cut}`)
      }
    }))
})
