/**
 * An echo target that remembers each connection it accepted and whether it has closed: for tests that
 * check the tunnel closes the target side of a user connection (not only that bytes come back).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

/** One accepted connection. */
export interface Accepted {
  /** bytes received so far */
  received: number
  /** how it ended, once it has: the peer's FIN, a reset or other error, or undefined while open */
  ended: "end" | "reset" | undefined
  closed: boolean
}

/** A running tracked echo target. */
export interface TrackedEcho {
  readonly port: number
  readonly accepted: ReadonlyArray<Accepted>
}

/** Starts the target on 127.0.0.1 for the life of the scope. */
export const make: Effect.Effect<TrackedEcho, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; accepted: Array<Accepted>; sockets: Set<net.Socket> }>((resume) => {
      const accepted: Array<Accepted> = []
      const sockets = new Set<net.Socket>()
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        const a: Accepted = { received: 0, ended: undefined, closed: false }
        accepted.push(a)
        sockets.add(socket)
        socket.on("data", (c: Buffer) => (a.received += c.length))
        socket.on("end", () => (a.ended ??= "end"))
        socket.on("error", () => (a.ended ??= "reset"))
        socket.on("close", () => {
          a.closed = true
          sockets.delete(socket)
        })
        socket.pipe(socket)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, accepted, sockets })))
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        server.close()
        for (const s of sockets) s.destroy()
      })
  ),
  ({ server, accepted }) => ({ port: (server.address() as net.AddressInfo).port, accepted })
)
