/**
 * The read side every backend shares (`ConnBase`), over in-memory pairs: exact reads across chunk
 * boundaries, bytes past a handshake forwarded untouched, and typed endings.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Conn } from "../../src/net/Conn.ts"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import type { ProtocolError } from "../../src/protocol/Protocol.ts"

const read = (conn: Conn, n: number) =>
  new Promise<{ error?: ProtocolError; value?: Buffer }>((resolve) =>
    conn.read(n, (error, value) => resolve(error ? { error } : { value: value! }))
  )

describe("Conn reads", () => {
  it("exact reads gather bytes across chunks and split a chunk between two reads", async () => {
    const [a, b] = MemoryConn.pair()
    a.write(Buffer.from("he"))
    a.write(Buffer.from("llo wor"))
    assert.strictEqual((await read(b, 5)).value!.toString(), "hello")
    const rest = read(b, 6)
    a.write(Buffer.from("ld!"))
    assert.strictEqual((await rest).value!.toString(), " world")
  })

  it("bytes after the last read go to the forward target first, in order, then the end", async () => {
    const [a, b] = MemoryConn.pair()
    const [c, d] = MemoryConn.pair()
    a.write(Buffer.from("HDRpayload-1"))
    assert.strictEqual((await read(b, 3)).value!.toString(), "HDR")
    b.forward(c) // what b reads now goes out on c, and arrives at d
    a.write(Buffer.from("-2"))
    a.end()
    assert.strictEqual((await read(d, 11)).value!.toString(), "payload-1-2")
    assert.isTrue(d.readEnded)
    assert.strictEqual((await read(d, 1)).error?.reason, "Closed")
  })

  it("a peer that ends first gives Closed, one that ends part way gives Truncated", async () => {
    const [a, b] = MemoryConn.pair()
    const pending = read(b, 4)
    a.end()
    assert.strictEqual((await pending).error?.reason, "Closed")
    const [c, d] = MemoryConn.pair()
    c.write(Buffer.from("ab"))
    c.end()
    assert.strictEqual((await read(d, 4)).error?.reason, "Truncated")
  })

  it("a reset is not an end: readEnded stays false and close callbacks run once", () => {
    const [a, b] = MemoryConn.pair()
    let closes = 0
    b.onClose(() => closes++)
    a.destroy()
    assert.isTrue(b.closed)
    assert.isFalse(b.readEnded)
    b.onClose(() => closes++)
    assert.strictEqual(closes, 2)
  })
})
