/**
 * WebSocket frames as the carrier reads them, fuzzed (issue 13, part C): a `WsConn`
 * (src/transport/ws/WsConn.ts, the `Conn` over the frame decoder of src/transport/ws/Frame.ts) on an
 * in-memory connection, server side (client frames masked) or client side (server frames not), fed a
 * peer's byte stream cut into reads anywhere. Frames here are written by hand, independently of the
 * codec under test. test/transport/ws/Frame.test.ts fuzzes the decoder itself against a model of the
 * rules; this suite checks what the carrier does with its verdicts:
 * - valid streams (binary messages in fragments, Ping and Pong between them, a Close at the end): the
 *   reader gets exactly the message bytes, every Ping is answered with its payload, a Close is answered
 *   and ends reading;
 * - mutated and random streams: no throw, never more bytes delivered than fed, every frame written back
 *   well-formed (masked exactly on the client side), at most one Close sent, and a protocol error is
 *   answered with Close 1002 or 1003 and the connection closed;
 * - a declared length up to 2^53 - 1 streams its payload as it comes: nothing is held or allocated for it.
 *
 * Case counts: test/helpers/Fuzz.ts (FUZZ_RUNS; `npm run fuzz` runs at least 100,000 on this decoder).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import { WsConn } from "../../src/transport/ws/WsConn.ts"
import { MaskKeys } from "../../src/transport/ws/Frame.ts"
import { arbMutation, arbSplit, bytesFrom, Collector, mutate, params, settle, split, tally, timeout } from "../helpers/Fuzz.ts"

const count = tally("ws-frames")

// ---------------------------------------------------------------------------------------------------
// frames written and read by hand (RFC 6455 §5.2)

interface RawFrame {
  readonly fin: boolean
  readonly opcode: number
  readonly payload: Buffer
  readonly key: Buffer | undefined
}

/** One frame's bytes: the shortest length form, the payload XORed with `key` when there is one. */
const encode = (f: RawFrame): Buffer => {
  const n = f.payload.length
  const head: Array<number> = [(f.fin ? 0x80 : 0) | f.opcode]
  const m = f.key === undefined ? 0 : 0x80
  if (n < 126) head.push(m | n)
  else if (n < 65536) head.push(m | 126, n >> 8, n & 0xff)
  else head.push(m | 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  const body = Buffer.from(f.payload)
  if (f.key !== undefined) {
    head.push(...f.key)
    for (let i = 0; i < n; i++) body[i] = body[i]! ^ f.key[i % 4]!
  }
  return Buffer.concat([Buffer.from(head), body])
}

interface Parsed {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: number
  readonly masked: boolean
  readonly payload: Buffer
}

/** Parses what the WsConn wrote; a partial frame at the end is a failure. */
const parseAll = (buf: Buffer): Array<Parsed> => {
  const out: Array<Parsed> = []
  let at = 0
  while (at < buf.length) {
    assert.isAtLeast(buf.length - at, 2, "partial frame header written")
    const b0 = buf[at]!
    const b1 = buf[at + 1]!
    let n = b1 & 0x7f
    let p = at + 2
    if (n === 126) {
      n = buf.readUInt16BE(p)
      p += 2
    } else if (n === 127) {
      n = Number(buf.readBigUInt64BE(p))
      p += 8
    }
    const masked = (b1 & 0x80) !== 0
    const key = masked ? buf.subarray(p, p + 4) : undefined
    if (masked) p += 4
    assert.isAtMost(p + n, buf.length, "partial frame payload written")
    const payload = Buffer.from(buf.subarray(p, p + n))
    if (key !== undefined) for (let i = 0; i < n; i++) payload[i] = payload[i]! ^ key[i % 4]!
    out.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload })
    at = p + n
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// valid streams

const arbKey = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((u) => Buffer.from(u))
/** fragment sizes: small, around the 7-bit/16-bit length forms, and now and then around the 16/64-bit one */
const arbSize = fc.oneof({ weight: 12, arbitrary: fc.nat(30) }, { weight: 4, arbitrary: fc.integer({ min: 120, max: 300 }) }, {
  weight: 1,
  arbitrary: fc.integer({ min: 65_530, max: 65_540 })
})

type Item =
  | { readonly t: "message"; readonly sizes: ReadonlyArray<number>; readonly seed: number; readonly pings: ReadonlyArray<number> }
  | { readonly t: "ping" | "pong"; readonly size: number; readonly seed: number }

const arbItem: fc.Arbitrary<Item> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("message" as const),
      sizes: fc.array(arbSize, { minLength: 1, maxLength: 4 }),
      seed: fc.integer(),
      // pings between fragments (sizes), -1 for none
      pings: fc.array(fc.oneof(fc.constant(-1), fc.nat(125)), { maxLength: 3 })
    })
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom("ping" as const, "pong" as const), size: fc.nat(125), seed: fc.integer() }) }
)

interface Stream {
  readonly frames: Array<Buffer>
  readonly data: Buffer
  readonly pings: Array<Buffer>
  readonly close: Buffer | undefined
}

/** A peer's stream of `items`, masked when the peer is a client; optionally a Close (code 1000) at the end. */
const build = (items: ReadonlyArray<Item>, keys: ReadonlyArray<Buffer>, peerIsClient: boolean, close: boolean): Stream => {
  const frames: Array<Buffer> = []
  const data: Array<Buffer> = []
  const pings: Array<Buffer> = []
  let k = 0
  const key = () => (peerIsClient ? keys[k++ % keys.length]! : undefined)
  for (const item of items) {
    if (item.t === "message") {
      item.sizes.forEach((size, i) => {
        const payload = bytesFrom(size, item.seed + i)
        frames.push(encode({ fin: i === item.sizes.length - 1, opcode: i === 0 ? 2 : 0, payload, key: key() }))
        data.push(payload)
        const ping = item.pings[i]
        if (ping !== undefined && ping >= 0) {
          const p = bytesFrom(ping, item.seed - i)
          frames.push(encode({ fin: true, opcode: 9, payload: p, key: key() }))
          pings.push(p)
        }
      })
    } else {
      const p = bytesFrom(item.size, item.seed)
      frames.push(encode({ fin: true, opcode: item.t === "ping" ? 9 : 10, payload: p, key: key() }))
      if (item.t === "ping") pings.push(p)
    }
  }
  const closePayload = close ? Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]) : undefined // 1000 "bye"
  if (closePayload !== undefined) frames.push(encode({ fin: true, opcode: 8, payload: closePayload, key: key() }))
  return { frames, data: Buffer.concat(data), pings, close: closePayload }
}

const rig = (client: boolean) => {
  const [inner, peer] = MemoryConn.pair("peer")
  const output = new Collector()
  peer.forward(output)
  const ws = new WsConn(inner, client ? new MaskKeys() : undefined, undefined)
  const reader = new Collector()
  ws.forward(reader)
  let closed = 0
  ws.onClose(() => closed++)
  return { inner, peer, ws, output, reader, closed: () => closed }
}

const arbCase = fc.record({
  client: fc.boolean(),
  items: fc.array(arbItem, { maxLength: 5 }),
  keys: fc.array(arbKey, { minLength: 1, maxLength: 3 }),
  close: fc.boolean(),
  how: arbSplit
})

/** What a WsConn may write, whatever it was fed: well-formed frames, masked exactly by a client, one Close at most. */
const checkOutput = (frames: ReadonlyArray<Parsed>, client: boolean): void => {
  let closes = 0
  for (const f of frames) {
    assert.strictEqual(f.rsv, 0)
    assert.isTrue(f.fin)
    assert.strictEqual(f.masked, client, "a client masks every frame, a server none")
    assert.include([2, 8, 9, 10], f.opcode)
    if (f.opcode === 8) {
      closes++
      assert.strictEqual(f.payload.length, 2, "our Close carries a code")
    }
    if (f.opcode >= 8) assert.isAtMost(f.payload.length, 125)
  }
  assert.isAtMost(closes, 1, "one Close at most")
}

describe("fuzz: WebSocket frames read by the carrier's connection", () => {
  it("valid streams, cut anywhere: the message bytes exactly, each Ping answered, a Close answered and ending reading", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async (c) => {
        const r = rig(c.client)
        const s = build(c.items, c.keys, !c.client, c.close)
        for (const chunk of split(Buffer.concat(s.frames), c.how)) r.peer.write(chunk)
        await settle()
        assert.isTrue(r.reader.all.equals(s.data), "the reader got the message bytes, in order")
        const written = parseAll(r.output.all)
        checkOutput(written, c.client)
        const pongs = written.filter((f) => f.opcode === 10).map((f) => f.payload)
        assert.deepStrictEqual(pongs, s.pings, "every Ping answered with its payload")
        const closes = written.filter((f) => f.opcode === 8)
        if (c.close) {
          assert.strictEqual(closes.length, 1)
          assert.strictEqual(closes[0]!.payload.readUInt16BE(0), 1000, "the peer's code echoed")
          assert.isTrue(r.reader.ended, "a Close ends reading")
        } else {
          assert.strictEqual(closes.length, 0)
          assert.isFalse(r.reader.ended)
          assert.strictEqual(r.closed(), 0)
        }
        count("ws frames", `valid, ${c.client ? "client" : "server"} side${c.close ? ", closed" : ""}`)
      }),
      params(600, 1.5)
    )
  }, timeout())

  it("mutated and random streams, cut anywhere: no throw, bounded delivery, well-formed answers, errors closed with 1002/1003", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbCase,
        fc.array(arbMutation, { minLength: 1, maxLength: 6 }),
        fc.oneof(
          { weight: 12, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }) }
        ),
        async (c, edits, random) => {
          const r = rig(c.client)
          const s = build(c.items, c.keys, !c.client, c.close)
          const wire = random === undefined ? mutate(Buffer.concat(s.frames), edits, s.frames) : Buffer.from(random)
          for (const chunk of split(wire, c.how)) r.peer.write(chunk)
          await settle()
          assert.isAtMost(r.reader.bytes, wire.length, "never more bytes delivered than fed")
          const written = parseAll(r.output.all)
          checkOutput(written, c.client)
          const close = written.find((f) => f.opcode === 8)
          let outcome = "open"
          if (close !== undefined) {
            const code = close.payload.readUInt16BE(0)
            outcome = code === 1002 || code === 1003 ? `refused with ${code}` : `peer closed, answered ${code}`
            if (code === 1002 || code === 1003) assert.isTrue(r.inner.closed || r.peer.readEnded, "a protocol error closes the connection")
          }
          r.peer.end()
          await settle()
          assert.isTrue(r.reader.ended || r.closed() > 0, "the end of the peer ends reading")
          r.ws.close()
          await settle()
          assert.strictEqual(r.closed(), 1, "closed exactly once")
          checkOutput(parseAll(r.output.all), c.client)
          count("ws frames", `${random === undefined ? "mutated" : "random"}: ${outcome}`)
        }
      ),
      params(1200, 3)
    )
  }, timeout())

  it("a declared length up to 2^53 - 1 streams its payload as it arrives: nothing held back, nothing allocated", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.oneof(fc.integer({ min: 65_536, max: Number.MAX_SAFE_INTEGER }), fc.constant(Number.MAX_SAFE_INTEGER)),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
        arbKey,
        async (client, length, pieces, key) => {
          const r = rig(client)
          const head = Buffer.alloc(14)
          head[0] = 0x82
          head[1] = (client ? 0 : 0x80) | 127
          head.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
          head.writeUInt32BE(length >>> 0, 6)
          if (!client) key.copy(head, 10)
          r.peer.write(head.subarray(0, client ? 10 : 14))
          let fed = 0
          for (const n of pieces) {
            r.peer.write(Buffer.alloc(n, 7))
            fed += n
            assert.strictEqual(r.reader.bytes, fed, "every payload byte reaches the reader as it arrives")
          }
          await settle()
          assert.strictEqual(r.output.bytes, 0, "no complaint")
          count("ws frames", "huge declared length: streamed")
        }
      ),
      params(200, 0.5)
    )
  }, timeout())
})
