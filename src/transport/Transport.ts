/**
 * The one interface every tunnel transport implements. A transport only moves bytes: it hands out
 * channels (duplex byte streams) between client and server. Authentication, framing, pooling and
 * forwarding sit above it and never look at which transport is in use.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { HostPort, TransportName } from "../config/Config.ts"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import type { Fork, SocketError } from "../net/Tcp.ts"

/** One tunnel channel: a byte connection with half-close (`end()`) that knows its peer (`remote`). */
export type Channel = Conn

/** What a transport provides. */
export interface TransportShape {
  readonly name: TransportName
  /**
   * Binds the tunnel address and calls `onChannel` for every incoming channel; `fork` runs an Effect in
   * the listener's scope for a channel that needs a fiber (a control session). Closing the scope unbinds
   * and closes every channel.
   */
  readonly listen: (
    address: HostPort,
    onChannel: (channel: Channel, fork: Fork) => void
  ) => Effect.Effect<HostPort, SocketError, Scope.Scope>
  /**
   * Opens a channel to the server and calls back with it; the caller owns it from then on. Callback-shaped
   * because it is on the per-connection path (see `net/Callback.ts`); `dial` is the Effect form.
   */
  readonly open: (address: HostPort, done: Done<Channel, SocketError>) => Cancel
}

/** Opens a channel as a scoped Effect: it is closed when the scope closes. */
export const dial = (transport: TransportShape, address: HostPort): Effect.Effect<Channel, SocketError, Scope.Scope> =>
  Effect.acquireRelease(
    toEffect<Channel, SocketError>((done) => transport.open(address, done)),
    (channel) => Effect.sync(() => channel.destroy())
  )

/** The transport chosen for this process. */
export class Transport extends Context.Tag("backhaul/Transport")<Transport, TransportShape>() {}
