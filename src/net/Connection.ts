/**
 * A byte connection as Effect values, for the host program's own ends of a tunnel: a target it serves,
 * a user connection it opens (on real sockets or the in-memory network alike). Reading is a `Stream`
 * with backpressure (the socket pauses while the stream's consumer is behind), writing an Effect that
 * waits while the connection's buffer is full. Not the tunnel's data path: that stays on `Conn`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { HostPort } from "../config/Config.ts"
import { parseHostPort } from "../config/PortMapping.ts"
import type { Conn, Resumable, SocketOptions } from "./Conn.ts"
import { dial, Network, SocketError } from "./Network.ts"

/** The connection was reset, or written to after it closed. */
export class ConnectionError extends Schema.TaggedError<ConnectionError>()("ConnectionError", {
  reason: Schema.Literal("Reset", "Closed"),
  remote: Schema.String
}) {
  get message() {
    return this.reason === "Reset" ? `connection with ${this.remote} was reset` : `connection with ${this.remote} is closed`
  }
}

/** One byte connection. */
export interface Connection {
  /** the peer, as `host:port` */
  readonly remote: string
  /**
   * The bytes as they arrive, ending when the peer ends its side (or failing if it resets). Run it once:
   * the bytes are not kept for a second reader.
   */
  readonly read: Stream.Stream<Uint8Array, ConnectionError>
  /** writes `bytes` (copied), waiting while the connection's buffer is full; fails after `end` or close */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, ConnectionError>
  /** ends our side (half-close): the peer reads the end, and may still write */
  readonly end: Effect.Effect<void>
  /** closes both sides now */
  readonly close: Effect.Effect<void>
}

/** Chunks the reading stream may hold before the connection pauses. */
const READ_AHEAD = 16

const plain: SocketOptions = { nodelay: true, keepaliveSeconds: 0 }

/** `"host:port"` or `{ host, port }`. */
export type Address = string | HostPort

const toHostPort = (address: Address, reason: "Listen" | "Connect"): Effect.Effect<HostPort, SocketError> => {
  if (typeof address !== "string") return Effect.succeed(address)
  // a listener may ask for port 0 (any free one), which the config grammar never allows: parsed as 1
  const anyPort = reason === "Listen" && address.endsWith(":0")
  return Either.match(parseHostPort(anyPort ? `${address.slice(0, -1)}1` : address), {
    onLeft: (detail) => Effect.fail(new SocketError({ reason, address, detail })),
    onRight: (parsed) => Effect.succeed(anyPort ? { ...parsed, port: 0 } : parsed)
  })
}

/** A `Conn` as a `Connection`. */
export const fromConn = (conn: Conn): Connection => {
  const remote = conn.remote
  // our own `close` ends the reading stream; only the peer's reset fails it
  let closedHere = false
  // after our `end`, a write is refused (the bytes would be dropped)
  let endedHere = false
  // one write at a time: a connection wakes one waiting writer when it drains
  const writing = Effect.unsafeMakeSemaphore(1)
  const read = Stream.async<Uint8Array, ConnectionError>((emit) => {
    let inflight = 0
    let paused: Resumable | undefined
    const settled = () => {
      inflight--
      if (paused !== undefined && inflight < READ_AHEAD) {
        const source = paused
        paused = undefined
        source.resume()
      }
    }
    conn.forward({
      write: (chunk) => {
        inflight++
        void emit.single(chunk).then(settled, settled)
        return inflight < READ_AHEAD
      },
      end: () => void emit.end(),
      whenDrained: (source) => {
        paused = source
      }
    })
    conn.onClose((c) => {
      if (c.readEnded || closedHere) void emit.end()
      else void emit.fail(new ConnectionError({ reason: "Reset", remote }))
    })
  }, READ_AHEAD * 2)

  const write = (bytes: Uint8Array) =>
    Effect.async<void, ConnectionError>((resume) => {
      if (conn.closed || endedHere) return resume(Effect.fail(new ConnectionError({ reason: "Closed", remote })))
      if (conn.write(Buffer.from(bytes))) return resume(Effect.void)
      const closed = () => resume(Effect.fail(new ConnectionError({ reason: "Closed", remote })))
      conn.onClose(closed)
      conn.whenDrained({
        resume: () => {
          conn.offClose(closed)
          resume(Effect.void)
        }
      })
      return Effect.sync(() => {
        conn.offClose(closed)
        conn.whenDrained(undefined)
      })
    }).pipe(writing.withPermits(1))

  return {
    remote,
    read,
    write,
    end: Effect.sync(() => {
      endedHere = true
      conn.end()
    }),
    close: Effect.sync(() => {
      closedHere = true
      conn.destroy()
    })
  }
}

/**
 * Listens on `address` of the `Network` for the life of the scope and runs `handler` for every
 * connection (in a fiber of its own; the connection closes when it returns, and a failure is logged).
 * Returns the bound address (port 0: any free one).
 */
export const serve = <E, R = never>(
  address: Address,
  handler: (connection: Connection) => Effect.Effect<void, E, R>
): Effect.Effect<HostPort, SocketError, Network | Scope.Scope | R> =>
  Effect.gen(function*() {
    const network = yield* Network
    const where = yield* toHostPort(address, "Listen")
    const run = yield* FiberSet.makeRuntime<R, void, never>()
    return yield* network.listen(where, plain, (conn) => {
      const connection = fromConn(conn)
      run(handler(connection).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`the handler of a connection from ${connection.remote} failed`, cause)
        ),
        // the handler is done with it: let queued bytes out, then close
        Effect.ensuring(Effect.sync(() => conn.close()))
      ))
    })
  })

/** Opens a connection to `address` on the `Network`; it is closed when the scope closes. */
export const open = (
  address: Address,
  timeoutSeconds = 10
): Effect.Effect<Connection, SocketError, Network | Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* Network
    const where = yield* toHostPort(address, "Connect")
    return fromConn(yield* dial(network, where, plain, timeoutSeconds))
  })
