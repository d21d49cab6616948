/**
 * The framed pump of reusable data channels, over in-memory connections: bytes and ends cross in both
 * directions, frames split at any byte still parse, what follows the last End is left for the next
 * reader, and anything abnormal closes the channel instead of handing it back.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Conn } from "../../src/net/Conn.ts"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import * as P from "../../src/protocol/Protocol.ts"
import * as FramedPipe from "../../src/tunnel/FramedPipe.ts"

/** Everything `conn` reads from now on, and whether its input ended. */
const collect = (conn: Conn) => {
  const seen = { bytes: [] as Array<Buffer>, ended: false }
  conn.forward({
    write: (c) => (seen.bytes.push(Buffer.from(c)), true),
    end: () => (seen.ended = true),
    whenDrained: () => {}
  })
  return { text: () => Buffer.concat(seen.bytes).toString(), ended: () => seen.ended }
}

const frames = (...parts: Array<Buffer>) => Buffer.concat(parts)
const data = (text: string) => frames(P.dataHeader(Buffer.byteLength(text)), Buffer.from(text))

describe("FramedPipe", () => {
  it("carries bytes and half-closes both ways, then hands the channel back reusable", () => {
    const [user, serverLocal] = MemoryConn.pair()
    const [serverChannel, clientChannel] = MemoryConn.pair()
    const [clientLocal, target] = MemoryConn.pair()
    const outcomes: Array<FramedPipe.Outcome> = []
    FramedPipe.run(serverLocal, serverChannel, (o) => outcomes.push(o))
    FramedPipe.run(clientLocal, clientChannel, (o) => outcomes.push(o))
    const atTarget = collect(target)
    const atUser = collect(user)
    user.write(Buffer.from("request "))
    user.write(Buffer.alloc(40_000, 0x61)) // above the size copied behind its header
    user.end()
    assert.strictEqual(atTarget.text(), "request " + "a".repeat(40_000))
    assert.isTrue(atTarget.ended())
    assert.strictEqual(outcomes.length, 0) // the reply direction is still open
    target.write(Buffer.from("reply"))
    target.end()
    assert.strictEqual(atUser.text(), "reply")
    assert.isTrue(atUser.ended())
    assert.deepStrictEqual(outcomes.map((o) => o.reusable), [true, true])
    assert.deepStrictEqual(outcomes.map((o) => [o.sent, o.received]).sort(), [[40_008, 5], [5, 40_008]])
    assert.isFalse(serverChannel.closed)
    assert.isFalse(clientChannel.closed)
  })

  it("parses frames split at every byte, and leaves what follows the End to the next reader", async () => {
    const [raw, channel] = MemoryConn.pair()
    const [local, target] = MemoryConn.pair()
    const atTarget = collect(target)
    let outcome: FramedPipe.Outcome | undefined
    FramedPipe.run(local, channel, (o) => (outcome = o))
    const next = P.encodeFrame({ _tag: "Goodbye", reason: "next reader" })
    const stream = frames(data("hello, "), data("framed world"), P.endFrame, next)
    for (const byte of stream) raw.write(Buffer.of(byte))
    assert.strictEqual(atTarget.text(), "hello, framed world")
    assert.isTrue(atTarget.ended())
    target.end() // the local side ends too: the connection is over
    assert.isTrue(outcome?.reusable)
    // the bytes after the End are still on the channel, whole and in order
    const after = await new Promise<Buffer>((resolve) => channel.read(next.length, (_e, b) => resolve(b!)))
    assert.isTrue(after.equals(next))
  })

  it("a malformed frame, a channel closed before its End, or a local reset close everything", () => {
    for (const breakIt of ["malformed", "channel closed", "local reset"] as const) {
      const [raw, channel] = MemoryConn.pair()
      const [local, peer] = MemoryConn.pair()
      let outcome: FramedPipe.Outcome | undefined
      FramedPipe.run(local, channel, (o) => (outcome = o))
      raw.write(data("partial"))
      if (breakIt === "malformed") raw.write(Buffer.from([99, 0, 0, 0, 1, 0]))
      if (breakIt === "channel closed") raw.end()
      if (breakIt === "local reset") peer.destroy()
      assert.strictEqual(outcome?.reusable, false, breakIt)
      assert.isTrue(channel.closed, breakIt)
      assert.isTrue(local.closed, breakIt)
    }
  })
})
