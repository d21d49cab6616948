/**
 * The wire codec: round trips, and every way a frame or handshake message can be refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Auth from "../../src/protocol/Auth.ts"
import * as P from "../../src/protocol/Protocol.ts"

const reasonOf = <A>(e: Either.Either<A, P.ProtocolError>) => Either.isLeft(e) ? e.left.reason : "ok"

const frameArb: FastCheck.Arbitrary<P.Frame> = FastCheck.oneof(
  FastCheck.record({
    _tag: FastCheck.constant("Welcome" as const),
    heartbeatMs: FastCheck.integer({ min: 0, max: 0xffffffff }),
    poolSize: FastCheck.integer({ min: 0, max: 0xffff }),
    maxFrame: FastCheck.integer({ min: 0, max: 0xffffffff })
  }),
  FastCheck.record({ _tag: FastCheck.constant("OpenData" as const), count: FastCheck.integer({ min: 0, max: 0xffff }) }),
  FastCheck.record({ _tag: FastCheck.constant("Ping" as const), sentAt: FastCheck.double({ noNaN: true }) }),
  FastCheck.record({ _tag: FastCheck.constant("Goodbye" as const), reason: FastCheck.string({ maxLength: 200 }) }),
  FastCheck.record({
    _tag: FastCheck.constant("Connect" as const),
    port: FastCheck.integer({ min: 1, max: 65535 }),
    target: FastCheck.string({ minLength: 1, maxLength: 300 }),
    use: FastCheck.integer({ min: 0, max: 0xffffffff }),
    mac: FastCheck.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b))
  })
)

describe("frames", () => {
  it.prop("every frame round-trips", [frameArb], ([frame]) => {
    const decoded = P.decodeFrame(P.encodeFrame(frame))
    assert.deepStrictEqual(decoded, Either.right(frame))
  })

  it.prop("every strict prefix of a frame is Truncated", [frameArb, FastCheck.nat()], ([frame, cut]) => {
    const bytes = P.encodeFrame(frame)
    const prefix = bytes.subarray(0, cut % bytes.length)
    const reason = reasonOf(P.decodeFrame(prefix))
    assert.strictEqual(reason, "Truncated")
  })

  it.prop("random bytes never throw", [FastCheck.uint8Array({ maxLength: 64 })], ([bytes]) => {
    const result = P.decodeFrame(Buffer.from(bytes))
    assert.isTrue(Either.isLeft(result) || Either.isRight(result))
  })

  it("a length over MAX_FRAME is Oversized, before any payload is read", () => {
    const header = Buffer.alloc(5)
    header[0] = 4
    header.writeUInt32BE(P.MAX_FRAME + 1, 1)
    assert.strictEqual(reasonOf(P.decodeFrameHeader(header)), "Oversized")
  })

  it("an unknown frame type is Malformed", () => {
    assert.strictEqual(reasonOf(P.decodeFramePayload(99, Buffer.alloc(4))), "Malformed")
  })

  it("a Connect for port 0 is Malformed", () => {
    const bytes = P.encodeFrame({ _tag: "Connect", port: 1, target: "x:1", use: 1, mac: Buffer.alloc(32) })
    bytes.writeUInt16BE(0, 5)
    assert.strictEqual(reasonOf(P.decodeFrame(bytes)), "Malformed")
  })
})

describe("handshake messages", () => {
  const nonce = Auth.nonce()

  it("data hello round-trips, and a counter past 2^48 is refused", () => {
    const hello = { sessionId: Buffer.alloc(16, 3), counter: 2 ** 40 + 7, mac: Buffer.alloc(32, 9) }
    const bytes = P.encodeDataHello("tcp", hello)
    assert.strictEqual(bytes.length, P.DATA_HELLO_BYTES)
    assert.strictEqual(Either.getOrThrow(P.decodeHelloPrefix(bytes, "tcp")), "data")
    const body = bytes.subarray(P.HELLO_PREFIX_BYTES)
    assert.deepStrictEqual(P.decodeDataHelloBody(body), Either.right(hello))
    const tooBig = Buffer.from(body)
    tooBig[P.SESSION_ID_BYTES] = 1
    assert.strictEqual(reasonOf(P.decodeDataHelloBody(tooBig)), "Malformed")
    assert.strictEqual(reasonOf(P.decodeDataHelloBody(body.subarray(0, 20))), "Truncated")
  })

  it("client hello round-trips", () => {
    const bytes = P.encodeClientHello({ kind: "data", transport: "tcp", nonce })
    const hello = P.decodeClientHello(bytes, "tcp")
    assert.isTrue(Either.isRight(hello))
    if (Either.isRight(hello)) {
      assert.strictEqual(hello.right.kind, "data")
      assert.isTrue(hello.right.nonce.equals(nonce))
    }
  })

  it("refuses foreign protocols with a useful description", () => {
    const http = Buffer.from("GET / HTTP/1.1\r\nHost: example\r\n\r\n....")
    const r = P.decodeClientHello(Buffer.concat([http, Buffer.alloc(40)]), "tcp")
    assert.strictEqual(reasonOf(r), "NotBackhaul")
    if (Either.isLeft(r)) assert.include(r.left.detail, "HTTP")
    const tls = Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), Buffer.alloc(40)])
    const t = P.decodeClientHello(tls, "tcp")
    if (Either.isLeft(t)) assert.include(t.left.detail, "TLS")
  })

  it("refuses another version, naming both", () => {
    const bytes = P.encodeClientHello({ kind: "control", transport: "tcp", nonce })
    bytes[4] = 1 // the first release's version
    const r = P.decodeClientHello(bytes, "tcp")
    assert.strictEqual(reasonOf(r), "Version")
    if (Either.isLeft(r)) assert.include(r.left.detail, "v1")
    if (Either.isLeft(r)) assert.include(r.left.detail, `v${P.VERSION}`)
  })

  it("refuses a transport mismatch, naming both transports", () => {
    const r = P.decodeClientHello(P.encodeClientHello({ kind: "control", transport: "tcpmux", nonce }), "tcp")
    assert.strictEqual(reasonOf(r), "TransportMismatch")
    if (Either.isLeft(r)) {
      assert.include(r.left.detail, "tcpmux")
      assert.include(r.left.detail, "tcp\"")
    }
    const s = P.decodeServerHello(P.encodeServerHello(P.Status.TransportMismatch, "ws", nonce))
    assert.strictEqual(reasonOf(s), "TransportMismatch")
    if (Either.isLeft(s)) assert.include(s.left.detail, "\"ws\"")
  })

  it("truncated hello, proof and verdict are Truncated", () => {
    const hello = P.encodeClientHello({ kind: "control", transport: "tcp", nonce })
    assert.strictEqual(reasonOf(P.decodeClientHello(hello.subarray(0, 20), "tcp")), "Truncated")
    assert.strictEqual(reasonOf(P.decodeServerHello(Buffer.alloc(3))), "Truncated")
    assert.strictEqual(reasonOf(P.decodeProof(Buffer.alloc(10))), "Truncated")
    assert.strictEqual(reasonOf(P.decodeVerdict(Buffer.alloc(10))), "Truncated")
  })

  it("verdict statuses become typed errors", () => {
    const v = (status: number) =>
      P.encodeVerdict({ status, mac: Buffer.alloc(P.HMAC_BYTES), sessionId: Buffer.alloc(P.SESSION_ID_BYTES) })
    assert.strictEqual(reasonOf(P.decodeVerdict(v(P.Status.AuthFailed))), "AuthFailed")
    assert.strictEqual(reasonOf(P.decodeVerdict(v(P.Status.UnknownSession))), "UnknownSession")
    assert.strictEqual(reasonOf(P.decodeVerdict(v(P.Status.Ok))), "ok")
  })
})

describe("auth", () => {
  const args = {
    kind: "control" as const,
    transport: "tcp" as const,
    clientNonce: Auth.nonce(),
    serverNonce: Auth.nonce(),
    sessionId: Auth.NO_SESSION
  }
  const token = Redacted.make("s3cret")

  it("the same inputs give the same MAC; any change gives another", () => {
    const a = Auth.clientMac(token, args)
    assert.isTrue(Auth.macEquals(a, Auth.clientMac(token, args)))
    assert.isFalse(Auth.macEquals(a, Auth.clientMac(Redacted.make("s3cres"), args)))
    assert.isFalse(Auth.macEquals(a, Auth.clientMac(token, { ...args, serverNonce: Auth.nonce() })))
    assert.isFalse(Auth.macEquals(a, Auth.clientMac(token, { ...args, kind: "data" })))
    assert.isFalse(Auth.macEquals(a, Auth.serverMac(token, args)))
  })

  it("the token never appears in what is sent", () => {
    const mac = Auth.clientMac(token, args)
    assert.strictEqual(mac.indexOf(Buffer.from("s3cret")), -1)
    assert.strictEqual(mac.length, P.HMAC_BYTES)
  })
})
