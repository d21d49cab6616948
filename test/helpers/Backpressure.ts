/**
 * The backpressure check shared by the in-process and the compiled-binary suites: a target that does not
 * read, a user that writes until the tunnel pushes back, then the target reads and everything accepted
 * must arrive, in order.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as net from "node:net"
import { pattern } from "./Sockets.ts"

const MiB = 1024 * 1024

/** A target that accepts and holds connections without reading them. */
export interface StalledTarget {
  readonly port: number
  readonly sockets: Array<net.Socket>
}

export const stalledTarget: Effect.Effect<StalledTarget, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ server: net.Server; sockets: Array<net.Socket> }>((resume) => {
    const sockets: Array<net.Socket> = []
    const server = net.createServer((s) => {
      s.pause()
      sockets.push(s)
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
  }),
  ({ server, sockets }) =>
    Effect.sync(() => {
      sockets.forEach((s) => s.destroy())
      server.close()
    })
).pipe(Effect.map(({ server, sockets }) => ({ port: (server.address() as net.AddressInfo).port, sockets })))

/** What went through: bytes the tunnel accepted while the target stalled, and what the target got after. */
export interface Outcome {
  readonly accepted: number
  readonly received: number
  readonly receivedHash: string
  readonly expectedHash: string
}

/**
 * Writes 1 MiB blocks to `userPort` until the tunnel pushes back for 1.5 s in a row (or 256 MiB went in,
 * which would be a bug), then lets the target read to the end.
 */
export const stallThenDrain = (userPort: number, target: StalledTarget): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const offered = 256 * MiB
    const user = net.connect({ host: "127.0.0.1", port: userPort })
    user.on("error", () => {})
    const block = pattern(3, MiB)
    let accepted = 0
    yield* Effect.async<void>((resume) => {
      let stall: ReturnType<typeof setTimeout> | undefined
      const write = () => {
        if (stall) clearTimeout(stall)
        while (accepted < offered) {
          accepted += block.length
          if (!user.write(block)) {
            stall = setTimeout(() => resume(Effect.void), 1_500)
            user.once("drain", write)
            return
          }
        }
        resume(Effect.void)
      }
      user.once("connect", write)
    })
    user.removeAllListeners("drain")
    const expected = createHash("sha256")
    for (let i = 0; i < accepted / MiB; i++) expected.update(block)
    const hash = createHash("sha256")
    const received = yield* Effect.async<number>((resume) => {
      let n = 0
      const s = target.sockets[0]
      if (s === undefined) return resume(Effect.succeed(0))
      s.on("data", (c: Buffer) => {
        n += c.length
        hash.update(c)
      })
      s.on("end", () => resume(Effect.succeed(n)))
      s.resume()
      user.end()
    })
    return { accepted, received, receivedHash: hash.digest("hex"), expectedHash: expected.digest("hex") }
  })
