/**
 * The in-memory network on its own: addresses as on loopback (port 0, a wildcard listener, in use,
 * refused), TLS refused, and socket-like timing and backpressure of its connections.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { Conn } from "../../src/net/Conn.ts"
import * as MemoryNetwork from "../../src/net/MemoryNetwork.ts"
import { dial } from "../../src/net/Network.ts"

const plain = { nodelay: true, keepaliveSeconds: 0 }

describe("in-memory network", () => {
  it.scoped("port 0 picks a free port; a wildcard listener takes any host; in use and refused are errors", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make
      const accepted: Array<Conn> = []
      const a = yield* network.listen({ host: "127.0.0.1", port: 0 }, plain, (c) => accepted.push(c))
      const b = yield* network.listen({ host: "127.0.0.1", port: 0 }, plain, (c) => accepted.push(c))
      assert.notStrictEqual(a.port, b.port)
      yield* network.listen({ host: "0.0.0.0", port: 7000 }, plain, (c) => accepted.push(c))
      yield* dial(network, { host: "10.1.2.3", port: 7000 }, plain, 1)
      assert.strictEqual(accepted.length, 1)
      assert.strictEqual(accepted[0]!.peer.host, "127.0.0.1")
      const inUse = yield* Effect.flip(network.listen({ host: "127.0.0.1", port: 7000 }, plain, () => {}))
      assert.strictEqual(inUse.code, "EADDRINUSE")
      const refused = yield* Effect.flip(dial(network, { host: "127.0.0.1", port: 7001 }, plain, 1))
      assert.strictEqual(refused.code, "ECONNREFUSED")
      const tls = { role: "client" as const, serverName: "x", ca: undefined, verify: true }
      const noTls = yield* Effect.flip(dial(network, { host: "127.0.0.1", port: 7000 }, { ...plain, tls }, 1))
      assert.match(noTls.detail, /TLS is not available/)
    }))

  it.scoped("bytes arrive after write returns; a reader that stops holds the writer back; the end follows the bytes", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork.make
      let server: Conn | undefined
      yield* network.listen({ host: "127.0.0.1", port: 9 }, plain, (c) => (server = c))
      const client = yield* dial(network, { host: "127.0.0.1", port: 9 }, plain, 1)
      const got: Array<Buffer> = []
      let ended = false
      server!.forward({ write: (c) => (got.push(Buffer.from(c)), true), end: () => (ended = true), whenDrained: () => {} })
      client.write(Buffer.from("early"))
      assert.strictEqual(got.length, 0) // not inside write
      yield* Effect.yieldNow()
      assert.strictEqual(Buffer.concat(got).toString(), "early")

      server!.pause()
      let accepted = true
      let writes = 0
      while (accepted && writes < 100) {
        accepted = client.write(Buffer.alloc(64 * 1024, writes))
        writes++
      }
      assert.isFalse(accepted) // held back after ~256 KiB, not after 100 writes
      assert.isBelow(writes, 10)
      let drained = false
      client.whenDrained({ resume: () => (drained = true) })
      client.end()
      yield* Effect.yieldNow()
      assert.isFalse(drained)
      assert.isFalse(ended)
      server!.resume()
      yield* Effect.yieldNow()
      assert.isTrue(drained)
      assert.isTrue(ended)
      assert.strictEqual(Buffer.concat(got).length, 5 + writes * 64 * 1024)
    }))
})
