/**
 * A TCP proxy on loopback between a client and its server, for tests that break one connection of many:
 * it records every connection it relays (in arrival order, with the bytes each carried) and can cut any
 * of them (both sides destroyed at once, as a dead link or a middlebox reset would) or freeze it (bytes
 * dropped, sockets left open: a path that went silent, which only a keepalive notices).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

/** One relayed connection. */
export interface Relayed {
  readonly index: number
  /** bytes client → server and server → client so far */
  up: number
  down: number
  cut: () => void
  /** stops relaying both ways and keeps both sockets open: a path that went silent (bytes dropped) */
  freeze: () => void
  closed: boolean
}

/** A running proxy. */
export interface CutProxy {
  readonly port: number
  readonly connections: Array<Relayed>
}

/** Starts a proxy to 127.0.0.1:`upstream` for the life of the scope. */
export const make = (upstream: number): Effect.Effect<CutProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; proxy: CutProxy }>((resume) => {
      const connections: Array<Relayed> = []
      const server = net.createServer({ allowHalfOpen: true }, (down) => {
        const up = net.connect({ host: "127.0.0.1", port: upstream, allowHalfOpen: true })
        let frozen = false
        const r: Relayed = {
          index: connections.length,
          up: 0,
          down: 0,
          closed: false,
          freeze: () => {
            frozen = true
          },
          cut: () => {
            down.resetAndDestroy()
            up.resetAndDestroy()
          }
        }
        connections.push(r)
        const close = () => {
          r.closed = true
          down.destroy()
          up.destroy()
        }
        down.on("data", (c: Buffer) => {
          if (frozen) return
          r.up += c.length
          if (!up.write(c)) down.pause()
        })
        up.on("data", (c: Buffer) => {
          if (frozen) return
          r.down += c.length
          if (!down.write(c)) up.pause()
        })
        up.on("drain", () => down.resume())
        down.on("drain", () => up.resume())
        down.on("end", () => up.end())
        up.on("end", () => down.end())
        down.on("error", close)
        up.on("error", close)
        down.on("close", close)
        up.on("close", close)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, proxy: { port: (server.address() as net.AddressInfo).port, connections } })))
    }),
    ({ proxy, server }) =>
      Effect.sync(() => {
        server.close()
        for (const c of proxy.connections) c.cut()
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
