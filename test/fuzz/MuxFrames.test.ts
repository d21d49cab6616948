/**
 * The multiplexer's frames, fuzzed (issue 13, part C):
 * - the header codec (src/transport/mux/Frame.ts): every header round-trips, and `check` agrees with a
 *   model of the rules written from docs/protocol.md on random and mutated headers;
 * - a live `Session` (src/transport/mux/Session.ts, either role) fed a peer's byte stream over an
 *   in-memory carrier: streams of valid frames (streams opened, data, FIN, RST, window updates, pings,
 *   GoAway) deliver each stream's bytes exactly and end it as told; the same streams mutated, or random
 *   bytes, cut into reads anywhere, never throw out of the parser, end the session at most once (a
 *   protocol error is told to the peer with GoAway), never deliver more bytes than were fed nor hold more
 *   than the windows granted, leave no stream behind once the carrier is gone, and everything the
 *   session writes back is a well-formed frame;
 * - a declared length of up to 2^32 - 1 fails the session at its header: nothing is allocated or awaited.
 *
 * Case counts: test/helpers/Fuzz.ts (FUZZ_RUNS; `npm run fuzz` runs at least 100,000 on this decoder).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { Conn } from "../../src/net/Conn.ts"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import * as Frame from "../../src/transport/mux/Frame.ts"
import { Session, type SessionEnd } from "../../src/transport/mux/Session.ts"
import type { MuxStream } from "../../src/transport/mux/Stream.ts"
import { arbMutation, arbSplit, bytesFrom, Collector, mutate, params, settle, split, tally, timeout, yielding } from "../helpers/Fuzz.ts"

const count = tally("mux-frames")

// ---------------------------------------------------------------------------------------------------
// the header codec

interface Header {
  readonly version: number
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly length: number
}

const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff))
const arbHeader: fc.Arbitrary<Header> = fc.record({
  version: fc.oneof({ weight: 8, arbitrary: fc.constant(Frame.VERSION) }, { weight: 1, arbitrary: fc.nat(255) }),
  type: fc.oneof({ weight: 8, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: fc.nat(255) }),
  flags: fc.oneof({ weight: 8, arbitrary: fc.nat(15) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
  streamId: fc.oneof(fc.nat(8), u32),
  length: fc.oneof(fc.nat(2048), u32)
})

/** The rules of a header, as docs/protocol.md ("Multiplexer") states them; true when acceptable. */
const modelAccepts = (h: Header, maxFrame: number): boolean => {
  if (h.version !== 1 || h.type > 3 || (h.flags & ~0xf) !== 0) return false
  if (h.type === 0) return h.length <= maxFrame && h.streamId !== 0 // Data
  if (h.type === 1) return h.length <= 0x7fffffff && (h.streamId !== 0 || h.flags === 0) // WindowUpdate
  if (h.type === 2) return h.streamId === 0 // Ping
  return h.streamId === 0 && h.length <= 2 // GoAway: Normal, ProtocolError, InternalError
}

const rawHeader = (h: Header): Buffer => {
  const b = Buffer.alloc(Frame.HEADER_BYTES)
  b[0] = h.version
  b[1] = h.type
  b.writeUInt16BE(h.flags, 2)
  b.writeUInt32BE(h.streamId, 4)
  b.writeUInt32BE(h.length, 8)
  return b
}

describe("fuzz: mux header codec", () => {
  it("headers round-trip; check agrees with the model on random and mutated headers", async () => {
    await fc.assert(
      fc.asyncProperty(arbHeader, fc.array(arbMutation, { maxLength: 2 }), fc.constantFrom(16_384, 65_536, 1 << 20, 1 << 24), yielding((h, edits, maxFrame) => {
        if (h.version === Frame.VERSION && h.type <= 3) {
          const written = Frame.header(h.type as Frame.FrameType, h.flags, h.streamId, h.length)
          assert.deepStrictEqual(Frame.readHeader(written, 0), h)
        }
        const bytes = mutate(rawHeader(h), edits)
        if (bytes.length < Frame.HEADER_BYTES) return count("mux frames", "header: short")
        const got = Frame.readHeader(bytes, 0)
        const problem = Frame.checkHeader(got, maxFrame)
        assert.strictEqual(problem === undefined, modelAccepts(got, maxFrame), `${JSON.stringify(got)}: ${problem}`)
        count("mux frames", `header: ${problem === undefined ? "accepted" : "refused"}`)
      })),
      params(400, 1)
    )
  }, timeout())
})

// ---------------------------------------------------------------------------------------------------
// a session fed a peer's frames

/** What the peer does, frame by frame; `k` picks a stream among those in play. */
type Op =
  | { readonly t: "open"; readonly size: number; readonly seed: number }
  | { readonly t: "data"; readonly k: number; readonly size: number; readonly seed: number }
  | { readonly t: "fin"; readonly k: number; readonly viaData: boolean }
  | { readonly t: "rst"; readonly k: number }
  | { readonly t: "window"; readonly k: number; readonly n: number }
  | { readonly t: "ping"; readonly value: number; readonly ack: boolean }
  | { readonly t: "credit"; readonly n: number }

/** payload sizes: mostly small (byte-by-byte reads of a big stream cost time, not coverage), some over 1 KiB */
const arbSize = fc.oneof({ weight: 4, arbitrary: fc.nat(40) }, { weight: 1, arbitrary: fc.nat(1500) })

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("open" as const), size: arbSize, seed: fc.integer() }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("data" as const), k: fc.nat(7), size: arbSize, seed: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("fin" as const), k: fc.nat(7), viaData: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("rst" as const), k: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("window" as const), k: fc.nat(7), n: fc.nat(4096) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("ping" as const), value: fc.nat(0xffffffff), ack: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("credit" as const), n: fc.nat(4096) }) }
)

interface Expected {
  data: Array<Buffer>
  fin: boolean
  rst: boolean
}

interface Script {
  /** one buffer per frame */
  readonly frames: Array<Buffer>
  /** what each stream should receive, by id */
  readonly expected: Map<number, Expected>
  /** ids the peer opened that the session under test refuses (it has no `onStream`) */
  readonly refused: Array<number>
  readonly goAway: boolean
}

const frameOf = (type: Frame.FrameType, flags: number, id: number, length: number, payload?: Buffer): Buffer =>
  payload === undefined ? Frame.header(type, flags, id, length) : Buffer.concat([Frame.header(type, flags, id, payload.length), payload])

/**
 * The peer's frames for `ops`. Against the accepting side (the client) the peer opens streams (even ids);
 * against the opening side (the server) it answers the `preOpened` streams (first frame ACK) and what it
 * opens itself (odd ids) is refused.
 */
const script = (ops: ReadonlyArray<Op>, opener: boolean, preOpened: ReadonlyArray<number>, goAway: boolean): Script => {
  const frames: Array<Buffer> = []
  const expected = new Map<number, Expected>()
  const refused: Array<number> = []
  const live: Array<number> = []
  const acked = new Set<number>()
  for (const id of preOpened) {
    expected.set(id, { data: [], fin: false, rst: false })
    live.push(id)
  }
  let nextId = opener ? 1 : 2
  const first = (id: number) => {
    if (!opener || acked.has(id)) return 0
    acked.add(id)
    return Frame.Flag.ACK
  }
  for (const op of ops) {
    if (op.t === "ping") frames.push(frameOf(Frame.Type.Ping, op.ack ? Frame.Flag.ACK : Frame.Flag.SYN, 0, op.value))
    else if (op.t === "credit") frames.push(frameOf(Frame.Type.WindowUpdate, 0, 0, op.n))
    else if (op.t === "open" || live.length === 0) {
      const size = "size" in op ? op.size : 10
      const id = nextId
      nextId += 2
      frames.push(frameOf(Frame.Type.Data, Frame.Flag.SYN, id, 0, bytesFrom(size, id)))
      if (opener) refused.push(id)
      else {
        expected.set(id, { data: [bytesFrom(size, id)], fin: false, rst: false })
        live.push(id)
      }
    } else {
      const id = live[op.k % live.length]!
      const e = expected.get(id)!
      if (op.t === "data") {
        const payload = bytesFrom(op.size, op.seed)
        frames.push(frameOf(Frame.Type.Data, first(id), id, 0, payload))
        e.data.push(payload)
      } else if (op.t === "window") {
        frames.push(frameOf(Frame.Type.WindowUpdate, first(id), id, op.n))
      } else {
        if (op.t === "fin") {
          frames.push(frameOf(op.viaData ? Frame.Type.Data : Frame.Type.WindowUpdate, first(id) | Frame.Flag.FIN, id, 0, op.viaData ? Buffer.alloc(0) : undefined))
          e.fin = true
        } else {
          frames.push(frameOf(Frame.Type.WindowUpdate, first(id) | Frame.Flag.RST, id, 0))
          e.rst = true
        }
        live.splice(live.indexOf(id), 1) // nothing more on a stream the peer ended or reset
      }
    }
  }
  if (goAway) frames.push(frameOf(Frame.Type.GoAway, 0, 0, Frame.GoAway.Normal))
  return { frames, expected, refused, goAway }
}

/** Parses what the session wrote; every frame must pass `check`. Returns the headers. */
const parseOutput = (out: Buffer, maxFrame: number): Array<Frame.Header> => {
  const headers: Array<Frame.Header> = []
  let at = 0
  while (at < out.length) {
    assert.isAtLeast(out.length - at, Frame.HEADER_BYTES, "the session wrote a partial header")
    const h = Frame.readHeader(out, at)
    assert.isUndefined(Frame.checkHeader(h, maxFrame), `the session wrote a bad frame ${JSON.stringify(h)}`)
    at += Frame.HEADER_BYTES + (h.type === Frame.Type.Data ? h.length : 0)
    assert.isAtMost(at, out.length, "the session wrote a partial payload")
    headers.push(h)
  }
  return headers
}

interface Rig {
  readonly session: Session
  readonly peer: Conn
  readonly carrier: Conn
  readonly output: Collector
  readonly accepted: Array<MuxStream>
  readonly opened: Array<MuxStream>
  readonly collectors: Map<number, Collector>
  readonly ends: Array<SessionEnd>
}

/** A session of the given role on an in-memory carrier; streams are read (`read`) or left unread. */
const rig = (opener: boolean, options: { maxFrame: number; streamWindow: number; sessionWindow: number }, read: boolean, preOpen: number): Rig => {
  const [carrier, peer] = MemoryConn.pair("peer")
  const output = new Collector()
  peer.forward(output)
  const accepted: Array<MuxStream> = []
  const collectors = new Map<number, Collector>()
  const take = (s: MuxStream) => {
    const c = new Collector()
    collectors.set(s.id, c)
    if (read) s.forward(c)
  }
  const session = new Session(carrier, {
    ...options,
    onStream: opener ? undefined : (s) => {
      accepted.push(s)
      take(s)
    }
  }, opener)
  const ends: Array<SessionEnd> = []
  session.onClose((end) => ends.push(end))
  session.start()
  const opened: Array<MuxStream> = []
  for (let i = 0; i < preOpen; i++) {
    const s = session.open()!
    opened.push(s)
    take(s)
    s.write(bytesFrom(100 + i, i)) // its SYN goes out with its first bytes
  }
  return { session, peer, carrier, output, accepted, opened, collectors, ends }
}

const arbOptions = fc.record({
  maxFrame: fc.constantFrom(2048, 16_384, 1 << 20),
  streamWindow: fc.constantFrom(Frame.INITIAL_WINDOW, 1 << 20),
  sessionWindow: fc.constantFrom(Frame.INITIAL_WINDOW, 1 << 22)
})

const arbCase = fc.record({
  opener: fc.boolean(),
  options: arbOptions,
  read: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  preOpen: fc.nat(3),
  ops: fc.array(arbOp, { maxLength: 12 }),
  goAway: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  how: arbSplit
})

/** Invariants of any run, valid input or not, once the carrier is gone. */
const afterTheEnd = (r: Rig, fed: number, maxFrame: number): Array<Frame.Header> => {
  assert.strictEqual(r.ends.length, 1, "the session ended exactly once")
  assert.include(["Protocol", "Closed", "GoAway"], r.ends[0]!.reason)
  assert.strictEqual(r.session.streams.size, 0, "no stream outlives its session")
  for (const s of [...r.accepted, ...r.opened]) assert.isTrue(s.closed, `stream ${s.id} closed`)
  let delivered = 0
  for (const c of r.collectors.values()) delivered += c.bytes
  assert.isAtMost(delivered, fed, "never more bytes delivered than fed")
  const headers = parseOutput(r.output.all, maxFrame)
  if (r.ends[0]!.reason === "Protocol") {
    const last = headers[headers.length - 1]!
    assert.deepStrictEqual([last.type, last.length], [Frame.Type.GoAway, Frame.GoAway.ProtocolError], "a protocol error is told to the peer")
  }
  return headers
}

describe("fuzz: a mux session fed a peer's frames", () => {
  it("valid frames, cut into reads anywhere: every stream gets exactly its bytes and its end", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async (c) => {
        const r = rig(c.opener, c.options, true, c.opener ? Math.max(1, c.preOpen) : 0)
        const s = script(c.ops, c.opener, r.opened.map((x) => x.id), c.goAway)
        const wire = Buffer.concat(s.frames)
        for (const chunk of split(wire, c.how)) r.peer.write(chunk)
        await settle()
        // a GoAway ends the session once no stream is left; otherwise it lasts as long as its carrier
        if (c.goAway && r.session.streams.size === 0) assert.strictEqual(r.ends[0]?.reason, "GoAway")
        else assert.strictEqual(r.ends.length, 0, `ended early: ${JSON.stringify(r.ends[0])}`)
        for (const [id, e] of s.expected) {
          const got = r.collectors.get(id)
          assert.isDefined(got, `stream ${id} reached the local side`)
          assert.isTrue(got!.all.equals(Buffer.concat(e.data)), `stream ${id}: its bytes, in order`)
          assert.strictEqual(got!.ended, e.fin, `stream ${id}: ended by FIN`)
          if (e.rst) assert.isTrue(r.session.streams.get(id) === undefined, `stream ${id}: gone after RST`)
        }
        const headers = parseOutput(r.output.all, c.options.maxFrame)
        for (const id of s.refused) {
          assert.isTrue(headers.some((h) => h.streamId === id && (h.flags & Frame.Flag.RST) !== 0), `refused stream ${id} is reset`)
        }
        for (const op of c.ops) {
          if (op.t === "ping" && !op.ack) {
            assert.isTrue(headers.some((h) => h.type === Frame.Type.Ping && h.flags === Frame.Flag.ACK && h.length === op.value), "a ping is answered")
          }
        }
        r.peer.end()
        await settle()
        afterTheEnd(r, wire.length, c.options.maxFrame)
        count("mux frames", `session, valid: ${c.opener ? "server" : "client"} side, then ${r.ends[0]!.reason}`)
      }),
      params(500, 1.5)
    )
  }, timeout())

  it("mutated or random streams, cut anywhere: no throw, one end, bounded delivery and holding, well-formed replies", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbCase,
        fc.array(arbMutation, { minLength: 1, maxLength: 6 }),
        fc.oneof(
          { weight: 16, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
          { weight: 1, arbitrary: fc.uint8Array({ minLength: 12, maxLength: 600 }) },
          // a valid first header, then garbage: the parser gets past its first check
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.concat([Frame.header(Frame.Type.Ping, Frame.Flag.SYN, 0, 7), u])) }
        ),
        async (c, edits, random) => {
          const r = rig(c.opener, c.options, c.read, c.opener ? c.preOpen : 0)
          const s = script(c.ops, c.opener, r.opened.map((x) => x.id), c.goAway)
          const wire = random === undefined ? mutate(Buffer.concat(s.frames), edits, s.frames) : Buffer.from(random)
          for (const chunk of split(wire, c.how)) {
            r.peer.write(chunk)
            if (!c.read) {
              // unread streams hold what they were sent, never more than the windows granted
              let held = 0
              for (const st of r.session.streams.values()) {
                assert.isAtMost(st.heldBytes, c.options.streamWindow)
                held += st.heldBytes
              }
              assert.isAtMost(held, c.options.sessionWindow)
            }
          }
          await settle()
          assert.isAtMost(r.ends.length, 1)
          const endedEarly = r.ends[0]?.reason
          r.peer.end()
          await settle()
          afterTheEnd(r, wire.length, c.options.maxFrame)
          count("mux frames", `session, ${random === undefined ? "mutated" : "random"}: ${endedEarly ?? "open until the carrier closed"}`)
        }
      ),
      params(800, 2)
    )
  }, timeout())

  it("a length field up to 2^32 - 1 over the frame or window limits fails the session at the header", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.constantFrom(Frame.Type.Data, Frame.Type.WindowUpdate),
        fc.oneof(fc.integer({ min: 0x80000000, max: 0xffffffff }), fc.constantFrom(0x80000000, 0xffffffff)),
        async (opener, type, length) => {
          const r = rig(opener, { maxFrame: 1 << 20, streamWindow: 1 << 20, sessionWindow: 1 << 22 }, true, opener ? 1 : 0)
          // on the stream the server side opened, or one the peer opens; a window update for the session
          const flags = opener ? 0 : Frame.Flag.SYN
          r.peer.write(Frame.header(type, type === Frame.Type.Data ? flags : 0, type === Frame.Type.Data ? 2 : 0, length))
          await settle()
          assert.strictEqual(r.ends.length, 1, "failed on the header alone, the carrier still open")
          assert.strictEqual(r.ends[0]!.reason, "Protocol")
          count("mux frames", "huge length: Protocol")
        }
      ),
      params(200, 0.5)
    )
  }, timeout())
})
