/**
 * Socket-level helpers for tests: hashed bulk transfers, exact round trips, and small target services.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as net from "node:net"
import { roundTrip } from "../../src/net/Probe.ts"
export { roundTrip }

/** Deterministic pseudo-random bytes (xorshift), so big payloads need not be held in memory. */
export const pattern = (seed: number, length: number): Buffer => {
  const buf = Buffer.alloc(length + 3)
  let x = seed | 1
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    buf.writeInt32LE(x | 0, i)
  }
  return buf.subarray(0, length)
}

/** Result of pushing bytes through and reading bytes back. */
export interface Transfer {
  readonly sentHash: string
  readonly receivedHash: string
  readonly sent: number
  readonly received: number
}

/**
 * Streams `total` bytes (in `chunk`-sized pieces, with backpressure) to host:port while reading everything
 * that comes back, then half-closes and waits for the peer's end. Hashes both directions.
 */
export const transfer = (port: number, total: number, host = "127.0.0.1", chunk = 1 << 20): Effect.Effect<Transfer, Error> =>
  Effect.async<Transfer, Error>((resume) => {
    const sentHash = createHash("sha256")
    const receivedHash = createHash("sha256")
    let received = 0
    let sent = 0
    const socket = net.connect({ host, port, allowHalfOpen: true })
    const block = pattern(port, chunk)
    const pump = () => {
      while (sent < total) {
        const piece = block.subarray(0, Math.min(chunk, total - sent))
        // vary the content per chunk so reordering would be caught
        piece.writeUInt32LE(sent >>> 0, 0)
        sentHash.update(piece)
        sent += piece.length
        if (!socket.write(Buffer.from(piece))) return socket.once("drain", pump)
      }
      socket.end()
    }
    socket.on("connect", pump)
    socket.on("data", (c: Buffer) => {
      received += c.length
      receivedHash.update(c)
    })
    socket.on("end", () => {
      socket.end()
      resume(Effect.succeed({ sentHash: sentHash.digest("hex"), receivedHash: receivedHash.digest("hex"), sent, received }))
    })
    socket.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => socket.destroy())
  })

/** Connects and reports how the connection ended without sending anything: "end", "reset" or "timeout". */
export const connectAndWaitEnd = (port: number, timeoutMs: number): Effect.Effect<"end" | "reset" | "timeout"> =>
  Effect.async((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const timer = setTimeout(() => {
      socket.destroy()
      resume(Effect.succeed("timeout" as const))
    }, timeoutMs)
    const done = (how: "end" | "reset") => {
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed(how))
    }
    socket.on("data", () => {})
    socket.on("end", () => done("end"))
    socket.on("error", () => done("reset"))
    socket.on("close", () => done("end"))
    return Effect.sync(() => {
      clearTimeout(timer)
      socket.destroy()
    })
  })

/**
 * A target that reads until the peer half-closes, then answers `got N bytes sha256=…` and ends: proves
 * the request's FIN crossed the tunnel while the reply direction stayed open.
 */
export const halfCloseTarget: Effect.Effect<number, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        const hash = createHash("sha256")
        let n = 0
        socket.on("error", () => socket.destroy())
        socket.on("data", (c: Buffer) => {
          n += c.length
          hash.update(c)
        })
        socket.on("end", () => socket.end(`got ${n} bytes sha256=${hash.digest("hex")}`))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.sync(() => server.close())
  ),
  (server) => (server.address() as net.AddressInfo).port
)

/** sha256 of a buffer, hex. */
export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex")

/**
 * `count` connections at once, connection `i` sending its own `pattern(i + 1, size(i))`: how many got
 * exactly their own bytes back.
 */
export const concurrentEchoes = (port: number, count: number, size: (i: number) => number): Effect.Effect<number, Error> =>
  Effect.map(
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => {
        const payload = pattern(i + 1, size(i))
        return Effect.map(roundTrip(port, payload), (back) => sha256(back) === sha256(payload))
      },
      { concurrency: "unbounded" }
    ),
    (results) => results.filter(Boolean).length
  )
