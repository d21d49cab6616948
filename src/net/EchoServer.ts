/**
 * A tiny TCP echo service as a scoped resource, half-close aware (it ends its side once the peer has
 * ended and every byte is echoed). The demo's target, and a target for tests and benchmarks.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

/** A running echo server. */
export interface EchoServer {
  readonly port: number
  /** connections accepted so far */
  readonly accepted: () => number
}

/** Starts an echo server on `host`, port 0, for the life of the scope. */
export const make = (host = "127.0.0.1"): Effect.Effect<EchoServer, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ server: net.Server; count: { n: number } }>((resume) => {
        const count = { n: 0 }
        const sockets = new Set<net.Socket>()
        const server = net.createServer({ allowHalfOpen: true }, (socket) => {
          count.n++
          sockets.add(socket)
          socket.on("error", () => socket.destroy())
          socket.on("close", () => sockets.delete(socket))
          socket.pipe(socket)
        })
        server.on("close", () => sockets.forEach((s) => s.destroy()))
        server.listen(0, host, () => resume(Effect.succeed({ server, count })))
      }),
      ({ server }) => Effect.sync(() => server.close())
    ),
    ({ count, server }) => ({ port: (server.address() as net.AddressInfo).port, accepted: () => count.n })
  )
