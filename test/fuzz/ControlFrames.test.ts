/**
 * The tunnel's frames (src/protocol/Protocol.ts: Welcome, OpenData, Ping, Goodbye, Connect, and the
 * Data/End types of a data channel), fuzzed (issue 13, part C):
 * - `decodeFrame` on valid, mutated and random bytes never throws, fails only with `Truncated`,
 *   `Oversized` or `Malformed`, and every valid frame round-trips;
 * - `Handshake.readFrameCb` reading frame after frame off an in-memory connection, the stream mutated and
 *   cut into reads anywhere: the frames of an untouched stream come out as they went in, a mutated one
 *   yields well-formed frames until one typed error, and nothing is left pending once the peer is gone;
 * - a declared length over MAX_FRAME (up to 2^32 - 1) fails at its header, before any payload arrives,
 *   so no peer makes the reader wait for (or hold) more than 64 KiB;
 * - a Connect altered anywhere is never taken as genuine (its MAC), and a Welcome's numbers pass the
 *   client's bounds (src/client/Welcome.ts) exactly when they are in range.
 *
 * Case counts: test/helpers/Fuzz.ts (FUZZ_RUNS; `npm run fuzz` runs at least 100,000 on this decoder).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import * as Welcome from "../../src/client/Welcome.ts"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { arbInput, arbMutation, arbSplit, mutate, params, settle, split, tally, timeout, yielding } from "../helpers/Fuzz.ts"

const count = tally("control-frames")

const uint = (bits: 16 | 32) => fc.integer({ min: 0, max: 2 ** bits - 1 })
const mac = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u))
const arbTarget = fc.oneof(
  fc.tuple(fc.constantFrom("127.0.0.1", "localhost", "[::1]", "10.0.0.7", "db.internal"), fc.integer({ min: 1, max: 65535 }))
    .map(([h, p]) => `${h}:${p}`),
  // never empty: a Connect's decoder wants at least one byte of target (the encoder would write none)
  fc.string({ minLength: 1, maxLength: 40 })
)

/** Every control frame, with its fields across their whole range. */
const arbFrame: fc.Arbitrary<P.Frame> = fc.oneof(
  fc.record({ _tag: fc.constant("Welcome" as const), heartbeatMs: uint(32), poolSize: uint(16), maxFrame: uint(32) }),
  fc.record({ _tag: fc.constant("OpenData" as const), count: uint(16) }),
  fc.record({ _tag: fc.constant("Ping" as const), sentAt: fc.double() }),
  fc.record({ _tag: fc.constant("Goodbye" as const), reason: fc.string({ unit: "grapheme", maxLength: 60 }) }),
  fc.record({
    _tag: fc.constant("Connect" as const),
    port: fc.integer({ min: 1, max: 65535 }),
    target: arbTarget,
    use: uint(32),
    mac
  })
)

/** What a frame decodes to after its trip: a Goodbye's reason is cut at 1,024 UTF-16 units and goes as UTF-8. */
const afterTrip = (f: P.Frame): P.Frame =>
  f._tag === "Goodbye"
    ? { _tag: "Goodbye", reason: Buffer.from(f.reason.slice(0, 1024), "utf8").toString("utf8") }
    : f._tag === "Connect"
    ? { ...f, target: Buffer.from(f.target, "utf8").toString("utf8") }
    : f

/** Raw frames of the other types a channel carries: Data (any length) and End, and unknown types. */
const arbRawFrame = fc.record({ type: fc.nat(255), payload: fc.uint8Array({ maxLength: 40 }) }).map(({ type, payload }) => {
  const b = Buffer.alloc(P.FRAME_HEADER_BYTES + payload.length)
  b[0] = type
  b.writeUInt32BE(payload.length, 1)
  b.set(payload, P.FRAME_HEADER_BYTES)
  return b
})

const arbWire = fc.array(
  fc.oneof({ weight: 5, arbitrary: arbFrame.map(P.encodeFrame) }, { weight: 1, arbitrary: arbRawFrame }),
  { minLength: 1, maxLength: 5 }
)

/** A decoded frame is one of the five, with every field in its encoding's range. */
const wellFormed = (f: P.Frame): void => {
  switch (f._tag) {
    case "Welcome":
      assert.isTrue(f.heartbeatMs >= 0 && f.heartbeatMs <= 0xffffffff && f.poolSize <= 0xffff && f.maxFrame <= 0xffffffff)
      return
    case "OpenData":
      assert.isTrue(Number.isInteger(f.count) && f.count >= 0 && f.count <= 0xffff)
      return
    case "Ping":
      assert.isNumber(f.sentAt)
      return
    case "Goodbye":
      assert.isAtMost(Buffer.byteLength(f.reason, "utf8"), 3 * P.MAX_FRAME)
      return
    case "Connect":
      assert.isTrue(f.port >= 1 && f.port <= 65535 && f.use <= 0xffffffff)
      assert.strictEqual(f.mac.length, P.HMAC_BYTES)
      return
    default:
      assert.fail(`unknown frame ${JSON.stringify(f)}`)
  }
}

const frameReasons = ["Truncated", "Oversized", "Malformed"]

describe("fuzz: control frame decoding", () => {
  it("decodeFrame on valid, mutated and random bytes: a well-formed frame or a typed error, never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(arbInput(arbWire, 200), yielding(({ bytes, origin, parts }) => {
        const result = P.decodeFrame(bytes)
        if (Either.isRight(result)) wellFormed(result.right)
        else {
          assert.instanceOf(result.left, P.ProtocolError)
          assert.include(frameReasons, result.left.reason)
          assert.isBelow(result.left.message.length, 400)
        }
        if (origin === "valid" && bytes[0]! >= 1 && bytes[0]! <= 5 && parts.length > 0) {
          // the first part was one of ours (raw frames have random types and may be anything)
          const first = Either.getOrUndefined(P.decodeFrame(Buffer.from(parts[0]!)))
          if (first !== undefined) assert.deepStrictEqual(Either.getOrThrow(result), first)
        }
        const header = P.decodeFrameHeader(bytes)
        if (Either.isRight(header)) assert.isAtMost(header.right.length, P.MAX_FRAME)
        else if (bytes.length >= P.FRAME_HEADER_BYTES) {
          assert.strictEqual(header.left.reason, "Oversized")
          assert.isAbove(bytes.readUInt32BE(1), P.MAX_FRAME)
        }
        count("control frames", `decodeFrame, ${origin}: ${Either.isRight(result) ? result.right._tag : result.left.reason}`)
      })),
      params(600, 1.5)
    )
  }, timeout())

  it("every frame round-trips through encodeFrame and decodeFrame", async () => {
    await fc.assert(
      fc.asyncProperty(arbFrame, yielding((frame) => {
        const wire = P.encodeFrame(frame)
        assert.strictEqual(wire.readUInt32BE(1), wire.length - P.FRAME_HEADER_BYTES)
        assert.deepStrictEqual(Either.getOrThrow(P.decodeFrame(wire)), afterTrip(frame))
        count("control frames", "round trip")
      })),
      params(200, 0.5)
    )
  }, timeout())
})

/** Reads frames off `conn` until the first error; returns what was read so far, live. */
const readAll = (conn: ReturnType<typeof MemoryConn.pair>[0]) => {
  const got: { frames: Array<P.Frame>; error: P.ProtocolError | undefined; errors: number } = { frames: [], error: undefined, errors: 0 }
  const next = (): void => {
    Handshake.readFrameCb(conn, (error, frame) => {
      if (error) {
        got.errors++
        got.error = error
        return
      }
      got.frames.push(frame!)
      next()
    })
  }
  next()
  return got
}

describe("fuzz: frames read off a connection", () => {
  it("a stream of frames, mutated and cut anywhere: frames in order, then one typed error; nothing left pending", async () => {
    await fc.assert(
      fc.asyncProperty(arbInput(arbWire, 300), arbSplit, async ({ bytes, origin, parts }, how) => {
        const [reader, peer] = MemoryConn.pair("peer")
        const got = readAll(reader)
        for (const chunk of split(bytes, how)) {
          peer.write(chunk)
          await settle()
        }
        const beforeEnd = got.frames.length
        peer.end()
        await settle()
        await settle()
        assert.strictEqual(got.errors, 1, "exactly one error ends the reading, at the latest when the peer goes")
        assert.include([...frameReasons, "Closed"], got.error!.reason)
        for (const f of got.frames) wellFormed(f)
        assert.strictEqual(got.frames.length, beforeEnd, "the end of input produces no frame")
        assert.isAtMost(got.frames.length, Math.floor(bytes.length / P.FRAME_HEADER_BYTES))
        if (origin === "valid") {
          // as many frames as the stream decodes to, one at a time, in order
          const expected: Array<P.Frame> = []
          for (const part of parts) {
            const f = P.decodeFrame(Buffer.from(part))
            if (Either.isLeft(f)) break
            expected.push(f.right)
          }
          assert.deepStrictEqual(got.frames, expected)
          if (expected.length === parts.length) assert.strictEqual(got.error!.reason, "Closed")
        }
        count("control frames", `stream, ${origin}: ${got.frames.length > 0 ? "frames then " : ""}${got.error!.reason}`)
      }),
      params(600, 2)
    )
  }, timeout())

  it("a declared length over 64 KiB, up to 2^32 - 1, fails at the header: no payload is awaited or held", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(255),
        fc.oneof(fc.integer({ min: P.MAX_FRAME + 1, max: 0xffffffff }), fc.constantFrom(P.MAX_FRAME + 1, 2 ** 31, 0xffffffff)),
        fc.uint8Array({ maxLength: 64 }),
        async (type, length, after) => {
          const [reader, peer] = MemoryConn.pair("peer")
          const got = readAll(reader)
          const header = Buffer.alloc(P.FRAME_HEADER_BYTES)
          header[0] = type
          header.writeUInt32BE(length, 1)
          peer.write(header)
          peer.write(after)
          await settle()
          // the peer is still there: the verdict came from the header alone
          assert.strictEqual(got.errors, 1)
          assert.strictEqual(got.error!.reason, "Oversized")
          assert.isFalse(reader.readEnded)
          count("control frames", "oversized header")
        }
      ),
      params(200, 0.5)
    )
  }, timeout())
})

describe("fuzz: the client's trust in frames", () => {
  const token = Redacted.make("fuzz-token")
  const arbId = fc.record({
    sessionId: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => Buffer.from(u)),
    counter: fc.integer({ min: 1, max: 2 ** 40 })
  })

  it("a Connect altered anywhere is never genuine; an unaltered one always is", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbId,
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.tuple(fc.constantFrom("127.0.0.1", "localhost", "10.1.2.3"), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
        fc.array(arbMutation, { maxLength: 4 }),
        yielding((id, use, port, target, edits) => {
          const genuine = Handshake.connectFrame(token, id, use, port, target)
          const wire = mutate(P.encodeFrame(genuine), edits)
          const decoded = P.decodeFrame(wire)
          let outcome: string = Either.isLeft(decoded) ? decoded.left.reason : decoded.right._tag
          if (Either.isRight(decoded) && decoded.right._tag === "Connect") {
            const f = decoded.right
            const accepted = Handshake.connectIsGenuine(token, id, use, f)
            const same = f.port === port && f.target === target && f.use === use && f.mac.equals(genuine._tag === "Connect" ? genuine.mac : Buffer.alloc(0))
            assert.strictEqual(accepted, same, `accepted ${JSON.stringify({ port: f.port, target: f.target, use: f.use })}`)
            outcome = accepted ? "genuine" : "refused"
          }
          count("control frames", `connect proof: ${edits.length === 0 ? "unaltered" : "mutated"}, ${outcome}`)
        })
      ),
      params(400, 0.5)
    )
  }, timeout())

  it("a decoded Welcome passes the client's bounds exactly when every number is in range", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          heartbeatMs: fc.oneof(uint(32), fc.integer({ min: 900, max: 3_600_100 })),
          poolSize: fc.oneof(uint(16), fc.integer({ min: 0, max: 1100 })),
          maxFrame: fc.oneof(uint(32), fc.integer({ min: 0, max: 16_777_300 }))
        }),
        fc.array(arbMutation, { maxLength: 2 }),
        yielding((w, edits) => {
          const decoded = P.decodeFrame(mutate(P.encodeFrame({ _tag: "Welcome", ...w }), edits))
          if (Either.isRight(decoded) && decoded.right._tag === "Welcome") {
            const got = decoded.right
            const inRange = (Object.keys(Welcome.limits) as Array<keyof typeof Welcome.limits>).every((k) =>
              got[k] >= Welcome.limits[k].min && got[k] <= Welcome.limits[k].max
            )
            const problem = Welcome.check(got)
            assert.strictEqual(problem === undefined, inRange, problem)
            count("control frames", `welcome bounds: ${inRange ? "accepted" : "refused"}`)
          } else count("control frames", "welcome bounds: not a welcome")
        })
      ),
      params(200, 0.5)
    )
  }, timeout())
})
