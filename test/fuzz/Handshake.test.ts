/**
 * The handshake, fuzzed (issue 13, part C). Two levels:
 * - the message decoders of src/protocol/Protocol.ts (ClientHello and its prefix, DataHello, ServerHello,
 *   ClientProof, ServerVerdict) on valid, mutated and random bytes: they never throw, fail only with a
 *   `ProtocolError` of a reason they may give, read only their own bytes, and valid messages round-trip;
 * - both sides of src/protocol/Handshake.ts talking to each other live over in-memory connections, with
 *   a tampering relay in each direction (bits flipped, bytes set, dropped, inserted, the stream cut) and
 *   every message re-chunked: each side finishes exactly once once the other is gone, with success or a
 *   `ProtocolError`; a changed authenticated byte never lets both sides through; an untouched exchange
 *   always succeeds, with one session id on both sides.
 *
 * Case counts: test/helpers/Fuzz.ts (FUZZ_RUNS; `npm run fuzz` runs at least 100,000 on this decoder).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import type { TransportName } from "../../src/config/Config.ts"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import * as Auth from "../../src/protocol/Auth.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { arbInput, arbSplit, params, settle, type Split, tally, timeout, yielding } from "../helpers/Fuzz.ts"
import { arbStreamEdit, differs, relay, type StreamEdit } from "../helpers/Tamper.ts"

const count = tally("handshake")

const wireTransports: ReadonlyArray<TransportName> = ["tcp", "tcpmux", "ws", "wsmux"]
const arbTransport = fc.constantFrom(...wireTransports)
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((u) => Buffer.from(u))
const statuses = Object.values(P.Status) as ReadonlyArray<P.StatusCode>

/** One valid handshake message of any kind, encoded. */
const arbMessage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({ kind: fc.constantFrom("control" as const, "data" as const), transport: arbTransport, nonce: bytesOf(32) })
    .map((h) => P.encodeClientHello(h)),
  fc.record({
    transport: arbTransport,
    sessionId: bytesOf(16),
    counter: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 ** 48 - 1 })),
    mac: bytesOf(32)
  }).map(({ transport, ...h }) => P.encodeDataHello(transport, h)),
  fc.record({ status: fc.constantFrom(...statuses), transport: arbTransport, nonce: bytesOf(32) })
    .map(({ status, transport, nonce }) => P.encodeServerHello(status, transport, nonce)),
  fc.record({ mac: bytesOf(32), instance: bytesOf(16) }).map((p) => P.encodeProof(p)),
  fc.record({ status: fc.constantFrom(...statuses), mac: bytesOf(32), sessionId: bytesOf(16) }).map((v) => P.encodeVerdict(v))
)

/** The reasons each decoder may fail with. */
const allowed = {
  clientHello: ["Truncated", "NotBackhaul", "Version", "Malformed", "TransportMismatch"],
  dataHelloBody: ["Truncated", "Malformed"],
  serverHello: ["Truncated", "NotBackhaul", "Version", "TransportMismatch", "RateLimited", "Malformed"],
  proof: ["Truncated"],
  verdict: ["Truncated", "AuthFailed", "UnknownSession", "TooManyClients", "Malformed"]
} as const

/** A decoder's result is a value or a typed error of one of `reasons`, with a log-sized detail. */
const typed = <A>(result: Either.Either<A, P.ProtocolError>, reasons: ReadonlyArray<string>): A | undefined => {
  if (Either.isRight(result)) return result.right
  const e = result.left
  assert.instanceOf(e, P.ProtocolError)
  assert.include(reasons, e.reason)
  assert.isString(e.detail)
  assert.isBelow(e.message.length, 400, "an error detail stays log-sized whatever the input")
  return undefined
}

const outcomeOf = (r: Either.Either<unknown, P.ProtocolError>) => (Either.isRight(r) ? "ok" : r.left.reason)

/** Decoding `buf` and its first `n` bytes gives the same answer: a decoder reads only its message. */
const sameOnPrefix = <A>(decode: (b: Buffer) => Either.Either<A, P.ProtocolError>, buf: Buffer, n: number) => {
  if (buf.length < n) return
  const whole = decode(buf)
  const own = decode(buf.subarray(0, n))
  assert.deepStrictEqual(Either.isRight(whole), Either.isRight(own))
  if (Either.isRight(whole) && Either.isRight(own)) assert.deepStrictEqual(whole.right, own.right)
  if (Either.isLeft(whole) && Either.isLeft(own)) assert.strictEqual(whole.left.reason, own.left.reason)
}

describe("fuzz: handshake message decoders", () => {
  it("valid, mutated and random bytes: never a throw, only the decoder's typed errors, only its own bytes read", async () => {
    await fc.assert(
      fc.asyncProperty(arbInput(fc.array(arbMessage, { minLength: 1, maxLength: 2 }), 160), arbTransport, yielding(({ bytes, origin }, expected) => {
        const prefix = typed(P.decodeHelloPrefix(bytes, expected), allowed.clientHello)
        const hello = typed(P.decodeClientHello(bytes, expected), allowed.clientHello)
        if (hello !== undefined) {
          assert.strictEqual(hello.nonce.length, P.NONCE_BYTES)
          assert.strictEqual(hello.kind, prefix, "the hello's kind is its prefix's")
          assert.strictEqual(hello.transport, expected)
          assert.isTrue(bytes.subarray(0, 4).equals(P.MAGIC) && bytes[4] === P.VERSION)
        }
        const body = bytes.subarray(P.HELLO_PREFIX_BYTES)
        const data = typed(P.decodeDataHelloBody(body), allowed.dataHelloBody)
        if (data !== undefined) {
          assert.isAtMost(data.counter, 2 ** 48 - 1)
          assert.strictEqual(data.sessionId.length, P.SESSION_ID_BYTES)
          assert.strictEqual(data.mac.length, P.HMAC_BYTES)
        }
        const server = typed(P.decodeServerHello(bytes), allowed.serverHello)
        if (server !== undefined) {
          assert.strictEqual(server.status, P.Status.Ok, "only an Ok hello decodes")
          assert.strictEqual(server.nonce.length, P.NONCE_BYTES)
        }
        const proof = typed(P.decodeProof(bytes), allowed.proof)
        if (proof !== undefined) assert.isTrue(Buffer.concat([proof.mac, proof.instance]).equals(bytes.subarray(0, P.PROOF_BYTES)))
        const verdict = typed(P.decodeVerdict(bytes), allowed.verdict)
        if (verdict !== undefined) assert.strictEqual(verdict.status, P.Status.Ok)
        sameOnPrefix((b) => P.decodeClientHello(b, expected), bytes, P.HELLO_BYTES)
        sameOnPrefix((b) => P.decodeDataHelloBody(b), body, P.DATA_HELLO_BYTES - P.HELLO_PREFIX_BYTES)
        sameOnPrefix(P.decodeServerHello, bytes, P.HELLO_BYTES)
        sameOnPrefix(P.decodeProof, bytes, P.PROOF_BYTES)
        sameOnPrefix(P.decodeVerdict, bytes, P.VERDICT_BYTES)
        count("handshake", `decoders, ${origin}: hello ${outcomeOf(P.decodeClientHello(bytes, expected))}`)
      })),
      params(800, 2)
    )
  }, timeout())

  it("every valid message round-trips", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          kind: fc.constantFrom("control" as const, "data" as const),
          transport: arbTransport,
          nonce: bytesOf(32),
          sessionId: bytesOf(16),
          counter: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
          mac: bytesOf(32)
        }),
        yielding(({ counter, kind, mac, nonce, sessionId, transport }) => {
          const hello = Either.getOrThrow(P.decodeClientHello(P.encodeClientHello({ kind, transport, nonce }), transport))
          assert.deepStrictEqual([hello.kind, hello.transport, hello.nonce], [kind, transport, nonce])
          const data = P.encodeDataHello(transport, { sessionId, counter, mac })
          assert.strictEqual(Either.getOrThrow(P.decodeHelloPrefix(data, transport)), "data")
          assert.deepStrictEqual(Either.getOrThrow(P.decodeDataHelloBody(data.subarray(P.HELLO_PREFIX_BYTES))), { sessionId, counter, mac })
          const server = Either.getOrThrow(P.decodeServerHello(P.encodeServerHello(P.Status.Ok, transport, nonce)))
          assert.isTrue(server.nonce.equals(nonce))
          assert.deepStrictEqual(Either.getOrThrow(P.decodeProof(P.encodeProof({ mac, instance: sessionId }))), { mac, instance: sessionId })
          const verdict = Either.getOrThrow(P.decodeVerdict(P.encodeVerdict({ status: P.Status.Ok, mac, sessionId })))
          assert.deepStrictEqual([verdict.mac, verdict.sessionId], [mac, sessionId])
          count("handshake", "round trip")
        })
      ),
      params(200, 0.5)
    )
  }, timeout())
})

// ---------------------------------------------------------------------------------------------------
// both sides live, through a tampering relay

interface Outcome<A> {
  calls: number
  error: P.ProtocolError | undefined
  value: A | undefined
}

const outcome = <A>(): [Outcome<A>, (error: P.ProtocolError | undefined, value?: A) => void] => {
  const o: Outcome<A> = { calls: 0, error: undefined, value: undefined }
  return [o, (error, value) => {
    o.calls++
    o.error = error
    o.value = value
  }]
}

/** Lets the exchange run until it stops moving, then takes both peers away and lets the sides finish. */
const runOut = async (ends: ReadonlyArray<() => void>) => {
  for (let i = 0; i < 4; i++) await settle()
  for (const end of ends) end()
  for (let i = 0; i < 2; i++) await settle()
}

const arbExchange = fc.record({
  clientTransport: arbTransport,
  serverTransport: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbTransport }),
  wrongToken: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  instance: bytesOf(16),
  admitData: fc.constantFrom("ok" as const, "ok" as const, "unknown" as const, "replayed" as const),
  admitControl: fc.constantFrom(true as const, true as const, "TooManyClients" as const),
  up: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(arbStreamEdit(100), { maxLength: 4 }) }),
  down: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(arbStreamEdit(100), { maxLength: 4 }) }),
  upSplit: arbSplit,
  downSplit: arbSplit
})

/** Sets up client ⇄ relay ⇄ relay ⇄ server; returns the two conns and how to take the peers away. */
const wire = (e: {
  readonly up: ReadonlyArray<StreamEdit>
  readonly down: ReadonlyArray<StreamEdit>
  readonly upSplit: Split
  readonly downSplit: Split
}) => {
  const [client, clientSide] = MemoryConn.pair("client")
  const [serverSide, server] = MemoryConn.pair("server")
  const up = relay(clientSide, serverSide, e.up, e.upSplit)
  const down = relay(serverSide, clientSide, e.down, e.downSplit)
  return { client, server, up, down, ends: [() => client.end(), () => server.end()] }
}

const token = Redacted.make("fuzz-token")
const otherToken = Redacted.make("not-the-token")

describe("fuzz: the handshake, both sides live through a tampering relay", () => {
  it("control channels: each side finishes once; tampering never lets both through; untouched always succeeds", async () => {
    await fc.assert(
      fc.asyncProperty(arbExchange, async (e) => {
        const { client, server, up, down, ends } = wire(e)
        const [c, cDone] = outcome<Buffer>()
        const [s, sDone] = outcome<Handshake.Admitted>()
        const serverTransport = e.serverTransport ?? e.clientTransport
        Handshake.clientCb(client, { token, transport: e.clientTransport, instance: e.instance }, cDone)
        Handshake.serverCb(server, {
          token: e.wrongToken ? otherToken : token,
          transport: serverTransport,
          admitData: () => e.admitData,
          admitControl: () => e.admitControl
        }, sDone)
        await runOut(ends)
        assert.strictEqual(c.calls, 1, "the client finished exactly once")
        assert.strictEqual(s.calls, 1, "the server finished exactly once")
        if (c.error !== undefined) assert.instanceOf(c.error, P.ProtocolError)
        if (s.error !== undefined) assert.instanceOf(s.error, P.ProtocolError)
        const clean = !up.changed && !up.cut && !down.changed && !down.cut
        const agreeable = !e.wrongToken && serverTransport === e.clientTransport && e.admitControl === true
        if (clean && agreeable) {
          assert.isUndefined(c.error, c.error?.message)
          assert.isUndefined(s.error, s.error?.message)
        }
        if (s.value !== undefined) {
          // whatever reached the server, it only admits a control channel a token holder sent unaltered
          assert.strictEqual(s.value.kind, "control")
          assert.isFalse(e.wrongToken || differs(up.sent, up.delivered, P.HELLO_BYTES + P.PROOF_BYTES, new Set([7])))
          if (s.value.kind === "control") assert.isTrue(s.value.instance.equals(e.instance))
        }
        if (c.value !== undefined) {
          // the client only accepts a session whose verdict the server proved, about our nonces
          assert.isFalse(e.wrongToken, "a server without the token is never believed")
          assert.isDefined(s.value, "the client never believes in a session the server did not admit")
          assert.isTrue(c.value.equals(s.value!.sessionId), "one session id on both sides")
          // the server's hello: its transport byte and the reserved zero are not covered by the proof
          assert.isFalse(differs(down.sent, down.delivered, P.HELLO_BYTES + P.VERDICT_BYTES, new Set([6, 7])))
        }
        if (e.wrongToken && s.error !== undefined && !up.changed && !up.cut) {
          assert.include(["AuthFailed", "TransportMismatch", "Closed", "Truncated"], s.error.reason)
        }
        count("handshake", `control, ${clean ? "untouched" : "tampered"}: client ${c.error?.reason ?? "ok"}, server ${s.error?.reason ?? "ok"}`)
      }),
      params(800, 2)
    )
  }, timeout())

  it("data channels: admitted only when the hello arrives unaltered from a token holder, for a live session", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbExchange,
        bytesOf(16),
        fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 2 ** 48 - 1 })),
        async (e, sessionId, counter) => {
          const { client, server, up, ends } = wire(e)
          const [s, sDone] = outcome<Handshake.Admitted>()
          const serverTransport = e.serverTransport ?? e.clientTransport
          Handshake.dataHello(client, e.wrongToken ? otherToken : token, e.clientTransport, { sessionId, counter })
          Handshake.serverCb(server, {
            token,
            transport: serverTransport,
            admitData: () => e.admitData,
            admitControl: () => e.admitControl
          }, sDone)
          await runOut(ends)
          assert.strictEqual(s.calls, 1, "the server finished exactly once")
          if (s.error !== undefined) assert.instanceOf(s.error, P.ProtocolError)
          const unaltered = !differs(up.sent, up.delivered, P.DATA_HELLO_BYTES, new Set([7]))
          if (s.value !== undefined) {
            assert.strictEqual(s.value.kind, "data")
            assert.isTrue(unaltered && !e.wrongToken && e.admitData === "ok" && serverTransport === e.clientTransport)
            if (s.value.kind === "data") {
              assert.isTrue(s.value.sessionId.equals(sessionId))
              assert.strictEqual(s.value.counter, counter)
            }
          } else if (unaltered && !e.wrongToken && serverTransport === e.clientTransport) {
            assert.strictEqual(s.error?.reason, e.admitData === "unknown" ? "UnknownSession" : "AuthFailed")
          }
          count("handshake", `data, ${unaltered ? "unaltered" : "tampered"}: server ${s.error?.reason ?? "ok"}`)
        }
      ),
      params(400, 1)
    )
  }, timeout())

  it("a verdict MAC made without the token is refused whatever the session id (an Ok verdict is not enough)", async () => {
    await fc.assert(
      fc.asyncProperty(bytesOf(16), bytesOf(32), arbTransport, async (sessionId, mac, transport) => {
        const [client, peer] = MemoryConn.pair("client")
        const [c, cDone] = outcome<Buffer>()
        Handshake.clientCb(client, { token, transport, instance: sessionId }, cDone)
        peer.write(P.encodeServerHello(P.Status.Ok, transport, Auth.nonce()))
        await settle()
        peer.write(P.encodeVerdict({ status: P.Status.Ok, mac, sessionId }))
        await settle()
        assert.strictEqual(c.calls, 1)
        assert.strictEqual(c.error?.reason, "AuthFailed")
        count("handshake", "forged verdict: AuthFailed")
      }),
      params(100, 0.2)
    )
  }, timeout())
})
