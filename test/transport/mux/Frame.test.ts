/**
 * The multiplexer's header codec: round trips, and every header a peer may not send is refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Frame from "../../../src/transport/mux/Frame.ts"

const MAX_FRAME = 32768

const validHeader = FastCheck.oneof(
  FastCheck.record({
    type: FastCheck.constant(Frame.Type.Data),
    flags: FastCheck.integer({ min: 0, max: 15 }),
    streamId: FastCheck.integer({ min: 1, max: 0xffffffff }),
    length: FastCheck.integer({ min: 0, max: MAX_FRAME })
  }),
  FastCheck.record({
    type: FastCheck.constant(Frame.Type.WindowUpdate),
    flags: FastCheck.integer({ min: 0, max: 15 }),
    streamId: FastCheck.integer({ min: 1, max: 0xffffffff }),
    length: FastCheck.integer({ min: 0, max: Frame.MAX_WINDOW })
  }),
  FastCheck.record({
    type: FastCheck.constant(Frame.Type.Ping),
    flags: FastCheck.constantFrom(Frame.Flag.SYN, Frame.Flag.ACK),
    streamId: FastCheck.constant(0),
    length: FastCheck.integer({ min: 0, max: 0xffffffff })
  }),
  FastCheck.record({
    type: FastCheck.constant(Frame.Type.GoAway),
    flags: FastCheck.constant(0),
    streamId: FastCheck.constant(0),
    length: FastCheck.integer({ min: 0, max: 2 })
  })
)

describe("mux frame header", () => {
  it.prop("every valid header round-trips and passes the checks", [validHeader], ([h]) => {
    const buf = Frame.header(h.type, h.flags, h.streamId, h.length)
    assert.strictEqual(buf.length, Frame.HEADER_BYTES)
    const back = Frame.readHeader(buf, 0)
    assert.deepStrictEqual(back, { version: Frame.VERSION, ...h })
    assert.isUndefined(Frame.checkHeader(back, MAX_FRAME))
  })

  it.prop("a header written at an offset reads back from it", [validHeader, FastCheck.nat(64)], ([h, offset]) => {
    const buf = Buffer.alloc(offset + Frame.HEADER_BYTES + 3, 0xee)
    Frame.writeHeader(buf, offset, h.type, h.flags, h.streamId, h.length)
    assert.deepStrictEqual(Frame.readHeader(buf, offset), { version: Frame.VERSION, ...h })
    assert.strictEqual(buf[offset + Frame.HEADER_BYTES], 0xee)
  })

  it.prop(
    "any other version, an unknown type or unknown flags are refused",
    [validHeader, FastCheck.integer({ min: 0, max: 255 }), FastCheck.integer({ min: 4, max: 255 }), FastCheck.integer({ min: 16, max: 0xffff })],
    ([h, version, type, flags]) => {
      if (version !== Frame.VERSION) assert.include(Frame.check(version, h.type, h.flags, h.streamId, h.length, MAX_FRAME), "version")
      assert.include(Frame.check(Frame.VERSION, type, h.flags, h.streamId, h.length, MAX_FRAME), "unknown frame type")
      assert.include(Frame.check(Frame.VERSION, h.type, flags, h.streamId, h.length, MAX_FRAME), "unknown flags")
    }
  )

  it.prop("a data frame over the frame size is refused", [FastCheck.integer({ min: MAX_FRAME + 1, max: 0xffffffff })], ([length]) => {
    assert.include(Frame.check(Frame.VERSION, Frame.Type.Data, 0, 2, length, MAX_FRAME), "exceeds")
  })

  it("frames on the wrong stream, and window updates over 2^31 - 1, are refused", () => {
    assert.include(Frame.check(1, Frame.Type.Data, 0, 0, 10, MAX_FRAME), "stream 0")
    assert.include(Frame.check(1, Frame.Type.Ping, Frame.Flag.SYN, 3, 1, MAX_FRAME), "ping on a stream")
    assert.include(Frame.check(1, Frame.Type.GoAway, 0, 3, 0, MAX_FRAME), "go-away on a stream")
    assert.include(Frame.check(1, Frame.Type.GoAway, 0, 0, 9, MAX_FRAME), "go-away code")
    assert.include(Frame.check(1, Frame.Type.WindowUpdate, 0, 2, 0x80000000, MAX_FRAME), "window update")
    assert.include(Frame.check(1, Frame.Type.WindowUpdate, Frame.Flag.SYN, 0, 5, MAX_FRAME), "session window update")
  })
})
