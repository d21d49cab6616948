/**
 * An in-memory `Network`: listeners are entries in this instance's table, a dial is a `MemoryConn` pair.
 * A whole tunnel runs on it without a socket — its tunnel port, its user ports and its targets — so a
 * program tests its own code against a real server and client (the same handshake, framing and
 * backpressure) with nothing bound on the machine. Both sides and the test's own listeners and dials
 * must use one instance: provide one layer value once.
 *
 * Addresses behave as on loopback: a listener on `0.0.0.0` or `::` takes dials to any host on its port,
 * port 0 picks a free one, a dial to a port nobody listens on is refused (`ECONNREFUSED`). Accepted
 * connections come from `127.0.0.1` with a port of their own. TLS has no meaning here: a listen or dial
 * that asks for it fails, so `wss` and `wssmux` need real sockets (use `ws` or `wsmux` in memory).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { formatHostPort, type HostPort } from "../config/Config.ts"
import type { Conn } from "./Conn.ts"
import * as MemoryConn from "./MemoryConn.ts"
import { Network, type NetworkShape, SocketError } from "./Network.ts"
import * as Owned from "./Owned.ts"

const FIRST_EPHEMERAL = 49_152
const LAST_PORT = 65_535
const ANY = "*"

const hostKey = (host: string): string => {
  const h = host.toLowerCase()
  if (h === "0.0.0.0" || h === "::" || h === "" || h === "[::]") return ANY
  return h === "localhost" ? "127.0.0.1" : h
}

const noTls = (reason: "Listen" | "Connect", address: HostPort) =>
  new SocketError({
    reason,
    address: formatHostPort(address),
    detail: "TLS is not available on the in-memory network (use ws or wsmux there, wss and wssmux on real sockets)"
  })

/** An in-memory network for the life of the scope. */
export const make: Effect.Effect<NetworkShape, never, Scope.Scope> = Effect.gen(function*() {
  const listeners = new Map<string, (conn: Conn) => void>()
  let nextEphemeral = FIRST_EPHEMERAL
  const ephemeral = (): number => {
    const port = nextEphemeral
    nextEphemeral = port === LAST_PORT ? FIRST_EPHEMERAL : port + 1
    return port
  }
  yield* Effect.addFinalizer(() => Effect.sync(() => listeners.clear()))

  const taken = (host: string, port: number): boolean =>
    host === ANY
      ? Array.from(listeners.keys()).some((k) => k.endsWith(`|${port}`))
      : listeners.has(`${host}|${port}`) || listeners.has(`${ANY}|${port}`)

  const listen: NetworkShape["listen"] = (address, socket, onConn, owner) =>
    Effect.gen(function*() {
      if (socket.tls !== undefined) return yield* noTls("Listen", address)
      const host = hostKey(address.host)
      let port = address.port
      if (port === 0) {
        for (let tries = 0; tries <= LAST_PORT - FIRST_EPHEMERAL && taken(host, port = ephemeral()); tries++);
      }
      if (taken(host, port)) {
        return yield* new SocketError({
          reason: "Listen",
          address: formatHostPort(address),
          detail: "the address is already in use (on the in-memory network)",
          code: "EADDRINUSE"
        })
      }
      const owned = owner ?? (yield* Owned.make)
      const key = `${host}|${port}`
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          listeners.set(key, (conn) => {
            owned.add(conn)
            onConn(conn)
          })
        ),
        () => Effect.sync(() => listeners.delete(key))
      )
      return { host: address.host, port }
    })

  const connect: NetworkShape["connect"] = (address, socket, _timeoutSeconds, done) => {
    let cancelled = false
    // like a socket, never calls back before returning
    queueMicrotask(() => {
      if (cancelled) return
      if (socket.tls !== undefined) return done(noTls("Connect", address))
      const host = hostKey(address.host)
      const accept = listeners.get(`${host}|${address.port}`) ?? listeners.get(`${ANY}|${address.port}`)
      if (accept === undefined) {
        return done(new SocketError({
          reason: "Connect",
          address: formatHostPort(address),
          detail: "connection refused (nothing listens there on the in-memory network)",
          code: "ECONNREFUSED"
        }))
      }
      const [dialer, accepted] = MemoryConn.pair(
        { host: address.host, port: address.port },
        { host: "127.0.0.1", port: ephemeral() },
        true
      )
      accept(accepted)
      done(undefined, dialer)
    })
    return () => {
      cancelled = true
    }
  }

  return { name: "memory", listen, connect }
})

/** The in-memory network as the `Network` layer (one instance per build of the layer). */
export const layer: Layer.Layer<Network> = Layer.scoped(Network, make)
