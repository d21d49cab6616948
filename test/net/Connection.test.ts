/**
 * The host program's ends of a tunnel (`Network.serve` / `Network.open`) on the in-memory network:
 * bytes both ways with half-close, a peer's reset as a typed error, our own close as an end, and a
 * write after close refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type Connection, open, serve } from "../../src/net/Connection.ts"
import * as MemoryNetwork from "../../src/net/MemoryNetwork.ts"

const text = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toArray(chunks)).toString()

describe("Connection", () => {
  it.scoped("bytes both ways with half-close: the server reads our end, answers, and ends", () =>
    Effect.gen(function*() {
      yield* serve("127.0.0.1:8080", (c) =>
        Effect.flatMap(Stream.runCollect(c.read), (got) => Effect.zipRight(c.write(Buffer.from(`got ${text(got)}`)), c.end)))
      const user = yield* open("127.0.0.1:8080")
      yield* user.write(Buffer.from("hello "))
      yield* user.write(Buffer.alloc(300_000, 0x61)) // over the in-flight bound: the write waits, then goes on
      yield* user.end
      const back = text(yield* Stream.runCollect(user.read))
      assert.strictEqual(back, `got hello ${"a".repeat(300_000)}`)
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("a reset by the peer fails the reading stream; our own close ends it; a write after close fails", () =>
    Effect.gen(function*() {
      const accepted = yield* Deferred.make<Connection>()
      // "host:0" asks for any free port, as `{ host, port: 0 }` does
      const bound = yield* serve("127.0.0.1:0", (c) => Effect.zipRight(Deferred.succeed(accepted, c), Effect.never))
      assert.isAbove(bound.port, 0)
      yield* serve("127.0.0.1:9000", () => Effect.void)
      const user = yield* open(`127.0.0.1:${bound.port}`)
      const server = yield* Deferred.await(accepted)
      yield* server.close
      const reset = yield* Effect.flip(Stream.runDrain(user.read))
      assert.strictEqual(reset._tag, "ConnectionError")
      assert.strictEqual(reset.reason, "Reset")
      const closedWrite = yield* Effect.flip(user.write(Buffer.from("late")))
      assert.strictEqual(closedWrite.reason, "Closed")

      const other = yield* open("127.0.0.1:9000")
      yield* other.close
      yield* Stream.runDrain(other.read) // ends, no error
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("two fibers writing at once both finish; a write after our end is refused", () =>
    Effect.gen(function*() {
      let got = 0
      const done = yield* Deferred.make<number>()
      yield* serve("127.0.0.1:8081", (c) =>
        Effect.zipRight(Stream.runForEach(c.read, (b) => Effect.sync(() => (got += b.length))), Deferred.succeed(done, got)))
      const user = yield* open("127.0.0.1:8081")
      const writer = (fill: number) =>
        Effect.forEach(Array.from({ length: 32 }), () => user.write(Buffer.alloc(64 * 1024, fill)), { discard: true })
      yield* Effect.all([writer(1), writer(2)], { concurrency: 2 })
      yield* user.end
      const refused = yield* Effect.flip(user.write(Buffer.from("late")))
      assert.strictEqual(refused.reason, "Closed")
      yield* Deferred.await(done)
      assert.strictEqual(got, 2 * 32 * 64 * 1024)
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scopedLive("a peer that closes with our bytes unread fails our waiting write, as a reset would on TCP", () =>
    Effect.gen(function*() {
      yield* serve("127.0.0.1:8082", () => Effect.sleep(20)) // reads nothing, then closes
      const user = yield* open("127.0.0.1:8082")
      const outcome = yield* Effect.either(
        Effect.forEach(Array.from({ length: 64 }), () => user.write(Buffer.alloc(64 * 1024)), { discard: true })
      ).pipe(Effect.timeout("5 seconds"))
      assert.isTrue(outcome._tag === "Left", "the write fails instead of waiting forever")
    }).pipe(Effect.provide(MemoryNetwork.layer)))
})
