/**
 * Where connections come from: listening and dialing as a service. Everything that makes a socket — the
 * carriers, the server's user ports, the client's target dials — asks the `Network` it was built with,
 * never a module, so a host program chooses per tunnel: real sockets (`Tcp.layer`, with the socket
 * backend as an option rather than an environment variable) or the in-memory network
 * (`MemoryNetwork.layer`), and two tunnels in one process share nothing they did not ask to share.
 * The shape is callback-based on the per-connection path (see `Callback.ts`); listening is an Effect.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { HostPort } from "../config/Config.ts"
import { type Cancel, type Done, toEffect } from "./Callback.ts"
import type { Conn, SocketOptions } from "./Conn.ts"
import type { Owned } from "./Owned.ts"

/** Listening or dialing failed. */
export class SocketError extends Schema.TaggedError<SocketError>()("SocketError", {
  reason: Schema.Literal("Listen", "Connect", "Timeout"),
  address: Schema.String,
  detail: Schema.String,
  /** the system's or TLS library's code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, …) */
  code: Schema.optional(Schema.String)
}) {
  get message() {
    return `${this.reason} ${this.address}: ${this.detail}`
  }
}

/** What a network provides. */
export interface NetworkShape {
  /** for logs: "tcp (bun sockets)", "tcp (node:net)", "memory" */
  readonly name: string
  /**
   * Binds `address` and calls `onConn` for every accepted connection. Connections belong to the listener:
   * closing the scope stops listening and destroys every connection still open, unless an `owner` takes
   * them (then closing the scope only unbinds: a drain or a reload). Returns the bound address (useful
   * with port 0).
   */
  readonly listen: (
    address: HostPort,
    options: SocketOptions,
    onConn: (conn: Conn) => void,
    owner?: Owned
  ) => Effect.Effect<HostPort, SocketError, Scope.Scope>
  /**
   * Connects to `address` within `timeoutSeconds` and calls back with the connection (never before
   * returning). The caller owns it from then on; cancelling before that abandons the attempt.
   */
  readonly connect: (
    address: HostPort,
    options: SocketOptions,
    timeoutSeconds: number,
    done: Done<Conn, SocketError>
  ) => Cancel
}

/** The network a tunnel endpoint makes its connections on. */
export class Network extends Context.Tag("backhaul/Network")<Network, NetworkShape>() {}

/**
 * `connect` as a scoped Effect: the connection is destroyed when the scope closes. Interrupting it while
 * it connects abandons the attempt (the acquire step is not made uninterruptible, as `acquireRelease`
 * would: a timeout around a dial must cut it short).
 */
export const dial = (
  network: NetworkShape,
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number
): Effect.Effect<Conn, SocketError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.tap(
      restore(toEffect<Conn, SocketError>((done) => network.connect(address, options, timeoutSeconds, done))),
      (conn) => Effect.addFinalizer(() => Effect.sync(() => conn.destroy()))
    )
  )
