/**
 * The WebSocket frame codec, fuzzed: streams of valid frames round-trip through `writeHeader` + `mask`
 * and the streaming decoder however they are split; `mask` agrees with a byte-by-byte XOR at every
 * alignment and phase; garbage and mutated streams never throw and fail at most once, the same way
 * whatever the chunking; every protocol violation fails with its close code.
 *
 * CI runs a few hundred cases per property. `npm run fuzz` sets FUZZ_RUNS to run many more (and
 * lifts the test timeout); a failure prints the fast-check seed and path to replay it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  CloseCode,
  FrameDecoder,
  type FrameHandler,
  MAX_CONTROL,
  MAX_HEADER,
  mask,
  Opcode,
  writeHeader
} from "../../../src/transport/ws/Frame.ts"

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? "")
const fuzzing = Number.isInteger(FUZZ_RUNS) && FUZZ_RUNS > 0

/**
 * Test options for a property with `ci` runs in CI. Under `npm run fuzz` it runs FUZZ_RUNS times `weight`
 * (heavy properties, with 64 KiB payloads, take a smaller share).
 */
const runs = (ci: number, weight = 1) => ({
  timeout: fuzzing ? 6 * 3_600_000 : 60_000,
  fastCheck: { numRuns: fuzzing ? Math.max(ci, Math.round(FUZZ_RUNS * weight)) : ci }
})

// ---------------------------------------------------------------------------------------------------
// references written independently of the code under test

/** XOR byte by byte, the RFC 6455 §5.3 way: byte i of the payload with key[(phase + i) % 4]. */
const naiveMask = (buf: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): void => {
  for (let i = start; i < end; i++) buf[i] = buf[i]! ^ key[(phase + (i - start)) % 4]!
}

/** Deterministic bytes from a seed (xorshift32), so 64 KiB payloads cost no 64 Ki generated values. */
const bytes = (length: number, seed: number): Buffer => {
  const out = Buffer.allocUnsafe(length)
  let x = seed | 0 || 0x9e3779b9
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// what the decoder reported

interface Report {
  /** onData payloads, kept as given (not copied: a delivered view must not change afterwards) */
  readonly data: Array<Buffer>
  /** control frames, with the count of data bytes delivered before each */
  readonly controls: Array<{ opcode: number; payload: Buffer; at: number }>
  readonly errors: Array<{ code: number; detail: string; at: number }>
  /** push results, one per chunk */
  readonly pushes: Array<boolean>
  /** callbacks after onError (must stay 0) */
  late: number
  /** empty onData payloads (must stay 0) */
  empty: number
  midFrame: boolean
}

const decode = (expectMasked: boolean, chunks: ReadonlyArray<Buffer>): Report => {
  const report: Report = { data: [], controls: [], errors: [], pushes: [], late: 0, empty: 0, midFrame: false }
  let delivered = 0
  const handler: FrameHandler = {
    onData(payload) {
      if (report.errors.length > 0) report.late++
      if (payload.length === 0) report.empty++
      report.data.push(payload)
      delivered += payload.length
    },
    onControl(opcode, payload) {
      if (report.errors.length > 0) report.late++
      report.controls.push({ opcode, payload: Buffer.from(payload), at: delivered })
    },
    onError(code, detail) {
      if (report.errors.length > 0) report.late++
      report.errors.push({ code, detail, at: delivered })
    }
  }
  const decoder = new FrameDecoder(expectMasked, handler)
  for (const chunk of chunks) report.pushes.push(decoder.push(chunk))
  report.midFrame = decoder.midFrame
  return report
}

const dataOf = (report: Report): Buffer => Buffer.concat(report.data)

/** The invariants every run must keep, valid input or not. */
const checkInvariants = (report: Report): void => {
  assert.strictEqual(report.late, 0, "nothing is reported after onError")
  assert.strictEqual(report.empty, 0, "onData is never called with an empty payload")
  assert.isAtMost(report.errors.length, 1, "onError at most once")
  for (const error of report.errors) assert.include([CloseCode.ProtocolError, CloseCode.Unsupported], error.code)
  // push is true until the chunk where the error was found, false from there on
  const firstFalse = report.pushes.indexOf(false)
  if (report.errors.length === 0) assert.strictEqual(firstFalse, -1)
  else {
    assert.notStrictEqual(firstFalse, -1, "the push that found the error returns false")
    assert.isTrue(report.pushes.slice(firstFalse).every((ok) => !ok))
  }
  for (const control of report.controls) {
    assert.include([Opcode.Close, Opcode.Ping, Opcode.Pong], control.opcode)
    assert.isAtMost(control.payload.length, MAX_CONTROL)
    if (control.opcode === Opcode.Close) assert.notStrictEqual(control.payload.length, 1)
  }
}

// ---------------------------------------------------------------------------------------------------
// splitting a byte stream into chunks

/** Chunk sizes used in turn (small ones split headers, 1 gives 1-byte chunks), or cut points anywhere. */
type Split = { readonly sizes: ReadonlyArray<number> } | { readonly cuts: ReadonlyArray<number> }

const arbSplit: fc.Arbitrary<Split> = fc.oneof(
  fc.record({
    sizes: fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) },
        { weight: 3, arbitrary: fc.integer({ min: 1, max: MAX_HEADER + 2 }) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 300 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }) }
      ),
      { minLength: 1, maxLength: 8 }
    )
  }),
  fc.record({ cuts: fc.array(fc.nat(), { maxLength: 12 }) })
)

/** Chunks of `wire` (views into it, so their byteOffset alignment varies). */
const split = (wire: Buffer, how: Split): Array<Buffer> => {
  const chunks: Array<Buffer> = []
  if ("sizes" in how) {
    for (let off = 0, i = 0; off < wire.length; i++) {
      const n = how.sizes[i % how.sizes.length]!
      chunks.push(wire.subarray(off, off + n))
      off += n
    }
    return chunks
  }
  const cuts = [...new Set(how.cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b)
  let from = 0
  for (const cut of [...cuts, wire.length]) {
    if (cut > from) chunks.push(wire.subarray(from, cut))
    from = cut
  }
  return chunks
}

/** `parts` joined into a fresh buffer at byte `shift` of its memory (a chunk may start anywhere). */
const lay = (parts: ReadonlyArray<Uint8Array>, shift: number): Buffer => {
  const total = parts.reduce((n, p) => n + p.length, 0)
  const out = Buffer.from(new ArrayBuffer(total + shift), shift, total)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// valid frame streams

interface Frame {
  readonly fin: boolean
  readonly opcode: number
  readonly payload: Buffer
  readonly key: Uint8Array
}

const arbKey = fc.uint8Array({ minLength: 4, maxLength: 4 })

/** data payload lengths: small, and around the 7-bit/16-bit (125/126) and 16-bit/64-bit (65535/65536) forms */
const arbDataLength = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 4, arbitrary: fc.integer({ min: 120, max: 131 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65_530, max: 65_541 }) }
)

const arbControl: fc.Arbitrary<Frame> = fc
  .record({
    opcode: fc.constantFrom(Opcode.Close, Opcode.Ping, Opcode.Pong),
    length: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 120, max: MAX_CONTROL }), fc.integer({ min: 0, max: MAX_CONTROL })),
    seed: fc.integer(),
    key: arbKey
  })
  // a 1-byte Close payload is a protocol error (it has half a code)
  .map(({ opcode, length, seed, key }) => ({
    fin: true,
    opcode,
    payload: bytes(opcode === Opcode.Close && length === 1 ? 2 : length, seed),
    key
  }))

/** One binary message in 1 to 4 fragments, control frames possibly between them. */
const arbMessage: fc.Arbitrary<Array<Frame>> = fc
  .array(
    fc.record({
      before: fc.array(arbControl, { maxLength: 2 }),
      length: arbDataLength,
      seed: fc.integer(),
      key: arbKey
    }),
    { minLength: 1, maxLength: 4 }
  )
  .map((fragments) =>
    fragments.flatMap(({ before, length, seed, key }, i) => [
      ...before,
      { fin: i === fragments.length - 1, opcode: i === 0 ? Opcode.Binary : Opcode.Continuation, payload: bytes(length, seed), key }
    ])
  )

const arbStream: fc.Arbitrary<Array<Frame>> = fc
  .array(fc.oneof({ weight: 3, arbitrary: arbMessage }, { weight: 1, arbitrary: arbControl.map((c) => [c]) }), { maxLength: 6 })
  .map((items) => items.flat())

/** A frame as a peer sends it: `writeHeader`, the FIN bit cleared for a fragment, masked by a client. */
const encode = (frame: Frame, masked: boolean): Array<Uint8Array> => {
  const head = Buffer.alloc(MAX_HEADER)
  const n = writeHeader(head, frame.opcode, frame.payload.length, masked ? frame.key : undefined)
  if (!frame.fin) head[0] = head[0]! & 0x7f
  const body = Buffer.from(frame.payload)
  if (masked) mask(body, 0, body.length, frame.key, 0)
  return [head.subarray(0, n), body]
}

/** What a decoder must report for a valid stream: the data bytes, and each control frame after how many. */
const expected = (frames: ReadonlyArray<Frame>) => {
  const data: Array<Buffer> = []
  const controls: Array<{ opcode: number; payload: Buffer; at: number }> = []
  let at = 0
  for (const f of frames) {
    if (f.opcode >= 8) controls.push({ opcode: f.opcode, payload: f.payload, at })
    else {
      data.push(f.payload)
      at += f.payload.length
    }
  }
  return { data: Buffer.concat(data), controls }
}

const arbShift = fc.nat(7)

describe("ws frame round trip", () => {
  it.prop(
    "any stream of valid frames, split anywhere, decodes to its data and control frames in order",
    { frames: arbStream, server: fc.boolean(), how: arbSplit, shift: arbShift },
    ({ frames, server, how, shift }) => {
      // the server expects masked frames (a client sent them), the client unmasked ones
      const wire = lay(frames.flatMap((f) => encode(f, server)), shift)
      const report = decode(server, split(wire, how))
      checkInvariants(report)
      assert.deepStrictEqual(report.errors, [])
      const want = expected(frames)
      assert.isTrue(dataOf(report).equals(want.data), "data bytes")
      assert.deepStrictEqual(report.controls, want.controls)
      assert.isFalse(report.midFrame)
    },
    runs(200, 0.2)
  )

  it.prop(
    "a stream cut short delivers the data that arrived and the control frames that completed",
    { frames: arbStream, server: fc.boolean(), how: arbSplit, cut: fc.nat() },
    ({ frames, server, how, cut }) => {
      const parts = frames.flatMap((f) => encode(f, server))
      const wire = lay(parts, 0)
      const end = cut % (wire.length + 1)
      // the reference: walk the frames up to `end`
      const data: Array<Buffer> = []
      const controls: Array<{ opcode: number; payload: Buffer; at: number }> = []
      let off = 0
      let at = 0
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!
        const payloadStart = off + parts[2 * i]!.length
        const payloadEnd = payloadStart + f.payload.length
        if (payloadStart > end || (payloadStart === end && (f.opcode < 8 || f.payload.length > 0))) break
        if (f.opcode >= 8) {
          if (payloadEnd <= end) controls.push({ opcode: f.opcode, payload: f.payload, at })
        } else {
          const got = f.payload.subarray(0, Math.min(f.payload.length, end - payloadStart))
          data.push(got)
          at += got.length
        }
        off = payloadEnd
      }
      const report = decode(server, split(wire.subarray(0, end), how))
      checkInvariants(report)
      assert.deepStrictEqual(report.errors, [])
      assert.isTrue(dataOf(report).equals(Buffer.concat(data)), "data bytes")
      assert.deepStrictEqual(report.controls, controls)
    },
    runs(150, 0.2)
  )
})

// ---------------------------------------------------------------------------------------------------

describe("ws mask", () => {
  const arbMaskCase = fc.record({
    data: fc.uint8Array({ maxLength: 96 }),
    /** where the buffer starts in its memory: byteOffset alignment 0 to 7 */
    offset: fc.nat(7),
    a: fc.nat(),
    b: fc.nat(),
    c: fc.nat(),
    key: arbKey,
    phase: fc.nat(7),
    asBuffer: fc.boolean()
  })

  const setUp = ({ data, offset, a, b, c, asBuffer }: { data: Uint8Array; offset: number; a: number; b: number; c: number; asBuffer: boolean }) => {
    const memory = new ArrayBuffer(offset + data.length + 3)
    const buf = asBuffer ? Buffer.from(memory, offset, data.length) : new Uint8Array(memory, offset, data.length)
    buf.set(data)
    const start = a % (data.length + 1)
    const end = start + (b % (data.length - start + 1))
    const mid = start + (c % (end - start + 1))
    return { memory, buf, start, end, mid }
  }

  it.prop(
    "masks like a byte-by-byte XOR at every alignment, range and phase, touching nothing else",
    [arbMaskCase],
    ([m]) => {
      const { memory, buf, start, end } = setUp(m)
      const want = Uint8Array.from(m.data)
      naiveMask(want, start, end, m.key, m.phase & 3)
      const phase = mask(buf, start, end, m.key, m.phase)
      assert.deepStrictEqual(Array.from(buf), Array.from(want))
      assert.strictEqual(phase, (m.phase + (end - start)) & 3)
      // the bytes around the view are untouched
      const all = new Uint8Array(memory)
      for (let i = 0; i < m.offset; i++) assert.strictEqual(all[i], 0)
      for (let i = m.offset + m.data.length; i < all.length; i++) assert.strictEqual(all[i], 0)
    },
    runs(2000)
  )

  it.prop(
    "is its own inverse, and masking a range in two parts (carrying the phase) is masking it at once",
    [arbMaskCase],
    ([m]) => {
      const { buf, start, end, mid } = setUp(m)
      const p = mask(buf, start, mid, m.key, m.phase)
      const q = mask(buf, mid, end, m.key, p)
      const want = Uint8Array.from(m.data)
      naiveMask(want, start, end, m.key, m.phase & 3)
      assert.deepStrictEqual(Array.from(buf), Array.from(want))
      assert.strictEqual(q, (m.phase + (end - start)) & 3)
      mask(buf, start, end, m.key, m.phase)
      assert.deepStrictEqual(Array.from(buf), Array.from(m.data))
    },
    runs(2000)
  )
})

// ---------------------------------------------------------------------------------------------------

describe("ws writeHeader", () => {
  /** The RFC 6455 §5.2 header of a final frame, built another way (BigInt for the 64-bit length). */
  const referenceHeader = (opcode: number, length: number, key: Uint8Array | undefined): Array<number> => {
    const m = key === undefined ? 0 : 0x80
    const out = [0x80 | opcode]
    if (length < 126) out.push(m | length)
    else if (length < 65536) out.push(m | 126, length >> 8, length & 0xff)
    else {
      out.push(m | 127)
      const big = BigInt(length)
      for (let i = 7; i >= 0; i--) out.push(Number((big >> BigInt(8 * i)) & 0xffn))
    }
    if (key !== undefined) out.push(...key)
    return out
  }

  it.prop(
    "writes the RFC layout for every length up to 2^53 - 1, with or without a mask key",
    {
      opcode: fc.constantFrom(Opcode.Binary, Opcode.Continuation, Opcode.Close, Opcode.Ping, Opcode.Pong),
      length: fc.oneof(
        fc.integer({ min: 0, max: 130 }),
        fc.integer({ min: 65_530, max: 65_541 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 2 ** 32 - 2, max: 2 ** 32 + 2 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 2 ** 48 - 2, max: 2 ** 48 + 2 }),
        fc.integer({ min: Number.MAX_SAFE_INTEGER - 2, max: Number.MAX_SAFE_INTEGER })
      ),
      key: fc.option(arbKey, { nil: undefined })
    },
    ({ opcode, length, key }) => {
      const out = Buffer.alloc(MAX_HEADER + 2, 0xee)
      const n = writeHeader(out, opcode, length, key)
      assert.deepStrictEqual(Array.from(out.subarray(0, n)), referenceHeader(opcode, length, key))
      assert.strictEqual(out[n], 0xee, "nothing written past the header")
    },
    runs(1000)
  )
})

// ---------------------------------------------------------------------------------------------------
// garbage: whatever arrives, the decoder keeps its invariants, and the chunking changes nothing

/** Decodes `wire` in one push and split by `how` (each on its own copy: payloads are unmasked in place). */
const bothWays = (wire: Uint8Array, server: boolean, how: Split) => {
  const whole = decode(server, [lay([wire], 0)])
  const chunks = split(lay([wire], 0), how)
  // once failed, a further frame changes nothing
  if (whole.errors.length > 0) chunks.push(Buffer.from([0x82, 0x00]))
  const chunked = decode(server, chunks)
  checkInvariants(whole)
  checkInvariants(chunked)
  assert.isTrue(dataOf(chunked).equals(dataOf(whole)), "the same data bytes")
  assert.deepStrictEqual(chunked.controls, whole.controls)
  assert.deepStrictEqual(chunked.errors, whole.errors)
  if (chunked.errors.length > 0) assert.isFalse(chunked.pushes[chunked.pushes.length - 1], "push is false after an error")
  return { whole, chunked }
}

describe("ws frame decoder on garbage", () => {
  it.prop(
    "random bytes in random chunks never throw; at most one error, 1002 or 1003, then silence",
    { wire: fc.uint8Array({ maxLength: 400 }), server: fc.boolean(), how: arbSplit },
    ({ wire, server, how }) => {
      bothWays(wire, server, how)
    },
    runs(1000)
  )

  it.prop(
    "valid streams with bytes overwritten, inserted or dropped: the same invariants, whatever the chunking",
    {
      frames: arbStream,
      server: fc.boolean(),
      how: arbSplit,
      edits: fc.array(
        fc.record({ kind: fc.constantFrom("set", "insert", "drop"), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        { minLength: 1, maxLength: 4 }
      )
    },
    ({ frames, server, how, edits }) => {
      let wire = lay(frames.flatMap((f) => encode(f, server)), 0)
      for (const e of edits) {
        const at = e.at % (wire.length + 1)
        if (e.kind === "insert") wire = Buffer.concat([wire.subarray(0, at), Buffer.from([e.value]), wire.subarray(at)])
        else if (at < wire.length) {
          if (e.kind === "set") wire[at] = e.value
          else wire = Buffer.concat([wire.subarray(0, at), wire.subarray(at + 1)])
        }
      }
      bothWays(wire, server, how)
    },
    runs(300, 0.2)
  )
})

// ---------------------------------------------------------------------------------------------------
// frames with random header fields, checked against a model of the rules

interface Raw {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: number
  /** true: the mask bit is the wrong one for this decoder */
  readonly wrongMask: boolean
  readonly key: Uint8Array
  readonly payload: Buffer
  /** how the length is written: the shortest form, or the 16- or 64-bit form regardless */
  readonly form: "min" | 16 | 64
  /** with form 64: a high 32-bit word of the length instead of the real one (a length of 2^53 or more) */
  readonly hugeHi: number | undefined
}

const arbRaw: fc.Arbitrary<Raw> = fc.record({
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 15, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  opcode: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(Opcode.Continuation, Opcode.Binary, Opcode.Close, Opcode.Ping, Opcode.Pong) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }
  ),
  wrongMask: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  key: arbKey,
  payload: fc
    .tuple(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 120, max: 140 })), fc.integer())
    .map(([n, seed]) => bytes(n, seed)),
  form: fc.oneof({ weight: 10, arbitrary: fc.constant("min" as const) }, { weight: 1, arbitrary: fc.constantFrom(16 as const, 64 as const) }),
  hugeHi: fc.oneof(
    { weight: 30, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 0x20_0000, max: 0xffff_ffff }) }
  )
})

/** A frame written by hand, byte by byte, masked by the naive XOR. */
const rawBytes = (r: Raw, server: boolean): Array<number> => {
  const masked = server !== r.wrongMask
  const n = r.payload.length
  const mbit = masked ? 0x80 : 0
  const out = [(r.fin ? 0x80 : 0) | (r.rsv << 4) | r.opcode]
  if (r.hugeHi === undefined && r.form === "min" && n < 126) out.push(mbit | n)
  else if (r.hugeHi === undefined && r.form !== 64) out.push(mbit | 126, n >> 8, n & 0xff)
  else {
    const hi = r.hugeHi ?? 0
    out.push(mbit | 127, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, 0, 0, n >> 8, n & 0xff)
  }
  const body = Uint8Array.from(r.payload)
  if (masked) {
    out.push(...r.key)
    naiveMask(body, 0, n, r.key, 0)
  }
  return out.concat(Array.from(body))
}

/**
 * The close codes `r` deserves after frames that left a fragmented message open or not (none: valid).
 * A control frame's length must fit the 7-bit form (RFC 6455 §5.5, and §5.2: the shortest form);
 * data frames in a longer form than needed are accepted.
 */
const KNOWN: ReadonlySet<number> = new Set([Opcode.Continuation, Opcode.Binary, Opcode.Close, Opcode.Ping, Opcode.Pong])

const violations = (r: Raw, inMessage: boolean): Array<number> => {
  const codes: Array<number> = []
  const n = r.payload.length
  const control = r.opcode >= 8
  if (r.rsv !== 0) codes.push(CloseCode.ProtocolError)
  if (r.wrongMask) codes.push(CloseCode.ProtocolError)
  if (r.hugeHi !== undefined) codes.push(CloseCode.ProtocolError)
  if (r.opcode === Opcode.Text) codes.push(CloseCode.Unsupported)
  else if (r.opcode === Opcode.Binary && inMessage) codes.push(CloseCode.ProtocolError)
  else if (r.opcode === Opcode.Continuation && !inMessage) codes.push(CloseCode.ProtocolError)
  else if (!KNOWN.has(r.opcode)) {
    codes.push(CloseCode.ProtocolError)
  } else if (control) {
    if (!r.fin) codes.push(CloseCode.ProtocolError)
    if (n > MAX_CONTROL || r.form !== "min") codes.push(CloseCode.ProtocolError)
    if (r.opcode === Opcode.Close && n === 1) codes.push(CloseCode.ProtocolError)
  }
  return codes
}

describe("ws frame decoder against a model of the rules", () => {
  it.prop(
    "frames with random header fields: everything before the first bad frame, then its close code",
    { raws: fc.array(arbRaw, { maxLength: 8 }), server: fc.boolean(), how: arbSplit },
    ({ raws, server, how }) => {
      const data: Array<Buffer> = []
      const controls: Array<{ opcode: number; payload: Buffer; at: number }> = []
      let at = 0
      let inMessage = false
      let codes: Array<number> = []
      for (const r of raws) {
        codes = violations(r, inMessage)
        if (codes.length > 0) break
        if (r.opcode >= 8) controls.push({ opcode: r.opcode, payload: r.payload, at })
        else {
          data.push(r.payload)
          at += r.payload.length
          inMessage = !r.fin
        }
      }
      const { chunked } = bothWays(Uint8Array.from(raws.flatMap((r) => rawBytes(r, server))), server, how)
      assert.isTrue(dataOf(chunked).equals(Buffer.concat(data)), "data bytes")
      assert.deepStrictEqual(chunked.controls, controls)
      if (codes.length === 0) assert.deepStrictEqual(chunked.errors, [])
      else {
        assert.strictEqual(chunked.errors.length, 1)
        assert.include(codes, chunked.errors[0]!.code)
      }
    },
    runs(1000)
  )
})

// ---------------------------------------------------------------------------------------------------
// each violation, after any valid prefix, split anywhere, followed by anything

const ok = (r: Partial<Raw> & { opcode: number }): Raw => ({
  fin: true,
  rsv: 0,
  wrongMask: false,
  key: new Uint8Array([1, 2, 3, 4]),
  payload: Buffer.alloc(0),
  form: "min",
  hugeHi: undefined,
  ...r
})

const arbPayload = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.integer()).map(([n, seed]) => bytes(n, seed))
const arbControlOpcode = fc.constantFrom(Opcode.Close, Opcode.Ping, Opcode.Pong)

/** Each violation: which decoder, whether a fragmented message must be open, the bad frame, its code. */
const cases: ReadonlyArray<{
  readonly name: string
  readonly server?: boolean
  readonly open?: boolean
  readonly code: number
  readonly bad: fc.Arbitrary<Raw>
}> = [
  {
    name: "RSV bits set",
    code: CloseCode.ProtocolError,
    bad: fc
      .record({ rsv: fc.integer({ min: 1, max: 7 }), opcode: fc.constantFrom(Opcode.Binary, Opcode.Ping, Opcode.Close), payload: arbPayload(0, 20) })
      .map(ok)
  },
  {
    name: "an unmasked frame to the server",
    server: true,
    code: CloseCode.ProtocolError,
    bad: fc.record({ opcode: fc.constantFrom(Opcode.Binary, Opcode.Ping), payload: arbPayload(0, 20) }).map((r) => ok({ ...r, wrongMask: true }))
  },
  {
    name: "a masked frame to the client",
    server: false,
    code: CloseCode.ProtocolError,
    bad: fc
      .record({ opcode: fc.constantFrom(Opcode.Binary, Opcode.Pong), payload: arbPayload(0, 20), key: arbKey })
      .map((r) => ok({ ...r, wrongMask: true }))
  },
  {
    name: "a text frame",
    code: CloseCode.Unsupported,
    bad: fc.record({ fin: fc.boolean(), payload: arbPayload(0, 200) }).map((r) => ok({ ...r, opcode: Opcode.Text }))
  },
  {
    name: "a continuation with no message open",
    open: false,
    code: CloseCode.ProtocolError,
    bad: fc.record({ fin: fc.boolean(), payload: arbPayload(0, 20) }).map((r) => ok({ ...r, opcode: Opcode.Continuation }))
  },
  {
    name: "a new binary frame inside a fragmented message",
    open: true,
    code: CloseCode.ProtocolError,
    bad: fc.record({ fin: fc.boolean(), payload: arbPayload(0, 20) }).map((r) => ok({ ...r, opcode: Opcode.Binary }))
  },
  {
    name: "a fragmented control frame",
    code: CloseCode.ProtocolError,
    bad: fc.record({ opcode: arbControlOpcode, payload: arbPayload(0, MAX_CONTROL) }).map((r) => ok({ ...r, fin: false }))
  },
  {
    name: "a control frame over 125 bytes",
    code: CloseCode.ProtocolError,
    bad: fc.record({ opcode: arbControlOpcode, payload: arbPayload(MAX_CONTROL + 1, 400) }).map(ok)
  },
  {
    name: "a control frame with its length in the 16- or 64-bit form",
    code: CloseCode.ProtocolError,
    bad: fc.record({ opcode: arbControlOpcode, payload: arbPayload(0, MAX_CONTROL), form: fc.constantFrom(16 as const, 64 as const) }).map(ok)
  },
  {
    name: "a reserved opcode",
    code: CloseCode.ProtocolError,
    bad: fc
      .record({ opcode: fc.oneof(fc.integer({ min: 3, max: 7 }), fc.integer({ min: 11, max: 15 })), fin: fc.boolean(), payload: arbPayload(0, 20) })
      .map(ok)
  },
  {
    name: "a 64-bit length of 2^53 or more",
    code: CloseCode.ProtocolError,
    bad: fc
      .record({ hugeHi: fc.integer({ min: 0x20_0000, max: 0xffff_ffff }), fin: fc.boolean(), payload: arbPayload(0, 20) })
      .map((r) => ok({ ...r, opcode: Opcode.Binary, form: 64 }))
  },
  {
    name: "a close frame with a 1-byte payload",
    code: CloseCode.ProtocolError,
    bad: fc.record({ payload: arbPayload(1, 1) }).map((r) => ok({ ...r, opcode: Opcode.Close }))
  }
]

describe("ws frame decoder refuses each protocol violation", () => {
  for (const c of cases) {
    it.prop(
      `${c.name}: close code ${c.code}, nothing after it`,
      {
        prefix: arbStream,
        server: c.server === undefined ? fc.boolean() : fc.constant(c.server),
        opening: fc.tuple(arbDataLength, fc.integer(), arbKey),
        bad: c.bad,
        // then valid frames, or garbage
        after: fc.oneof(
          arbStream.map((frames) => ({ frames, bytes: new Uint8Array(0) })),
          fc.record({ frames: fc.constant<Array<Frame>>([]), bytes: fc.uint8Array({ maxLength: 40 }) })
        ),
        how: arbSplit
      },
      ({ prefix, server, opening, bad, after, how }) => {
        // a valid prefix; for a violation that needs one, a fragmented message is then left open
        const frames: Array<Frame> = [...prefix]
        if (c.open === true) frames.push({ fin: false, opcode: Opcode.Binary, payload: bytes(opening[0], opening[1]), key: opening[2] })
        const want = expected(frames)
        const wire = lay(
          [
            ...frames.flatMap((f) => encode(f, server)),
            Uint8Array.from(rawBytes(bad, server)),
            ...after.frames.flatMap((f) => encode(f, server)),
            after.bytes
          ],
          0
        )
        const report = decode(server, [...split(wire, how), Buffer.from([0x82, 0x00])])
        checkInvariants(report)
        assert.strictEqual(report.errors.length, 1)
        assert.strictEqual(report.errors[0]!.code, c.code, report.errors[0]!.detail)
        assert.isTrue(dataOf(report).equals(want.data), "the data before the bad frame, and only that")
        assert.deepStrictEqual(report.controls, want.controls)
        assert.isFalse(report.pushes[report.pushes.length - 1])
      },
      runs(100, 0.05)
    )
  }

  it("examples, one chunk each", () => {
    const server = (bytes: Array<number>) => decode(true, [Buffer.from(bytes)]).errors.map((e) => e.code)
    const client = (bytes: Array<number>) => decode(false, [Buffer.from(bytes)]).errors.map((e) => e.code)
    const k = [1, 2, 3, 4]
    assert.deepStrictEqual(server([0xc2, 0x80, ...k]), [1002], "RSV1")
    assert.deepStrictEqual(server([0x82, 0x00]), [1002], "unmasked to the server")
    assert.deepStrictEqual(client([0x82, 0x80, ...k]), [1002], "masked to the client")
    assert.deepStrictEqual(server([0x81, 0x80, ...k]), [1003], "text")
    assert.deepStrictEqual(server([0x80, 0x80, ...k]), [1002], "continuation outside a message")
    assert.deepStrictEqual(server([0x02, 0x80, ...k, 0x82, 0x80, ...k]), [1002], "binary inside a message")
    assert.deepStrictEqual(server([0x09, 0x80, ...k]), [1002], "fragmented ping")
    assert.deepStrictEqual(server([0x89, 0xfe, 0x00, 0x7e, ...k]), [1002], "ping of 126 bytes")
    assert.deepStrictEqual(server([0x89, 0xfe, 0x00, 0x05, ...k]), [1002], "ping of 5 bytes in the 16-bit form")
    for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) assert.deepStrictEqual(server([0x80 | op, 0x80, ...k]), [1002], `opcode ${op}`)
    assert.deepStrictEqual(client([0x82, 0x7f, 0x00, 0x20, 0, 0, 0, 0, 0, 0]), [1002], "length 2^53")
    assert.deepStrictEqual(client([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]), [1002], "length with the top bit set")
    assert.deepStrictEqual(client([0x88, 0x01, 0x03]), [1002], "close with 1 byte")
    assert.deepStrictEqual(client([0x88, 0x00, 0x88, 0x02, 0x03, 0xe8]), [], "close with 0 or 2 bytes")
    assert.deepStrictEqual(client([0x82, 0x7f, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x61]), [], "length 2^53 - 1")
  })
})

// ---------------------------------------------------------------------------------------------------

describe("ws frame decoder on a huge declared length", () => {
  it.prop(
    "streams what arrives of a 2^40-byte (or up to 2^53 - 1) frame, without allocating the declared size",
    {
      length: fc.oneof(fc.constant(2 ** 40), fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER })),
      server: fc.boolean(),
      key: arbKey,
      sent: arbPayload(1, 5000),
      how: arbSplit
    },
    ({ length, server, key, sent, how }) => {
      const head = Buffer.alloc(MAX_HEADER)
      const n = writeHeader(head, Opcode.Binary, length, server ? key : undefined)
      const body = Buffer.from(sent)
      if (server) naiveMask(body, 0, body.length, key, 0)
      // an allocation of the declared size would throw (over the largest Buffer) or exhaust memory
      const report = decode(server, split(lay([head.subarray(0, n), body], 0), how))
      checkInvariants(report)
      assert.deepStrictEqual(report.errors, [])
      assert.isTrue(dataOf(report).equals(sent))
      assert.isTrue(report.midFrame, "the frame is still open")
    },
    runs(100, 0.05)
  )
})
