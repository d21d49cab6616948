/**
 * The one interface every tunnel transport implements. A transport only moves bytes: it hands out
 * channels (duplex byte streams) between client and server. Authentication, framing, pooling and
 * forwarding sit above it and never look at which transport is in use.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Duplex } from "node:stream"
import type { HostPort, TransportName } from "../config/Config.ts"
import type { SocketError } from "../net/Tcp.ts"

/** One tunnel channel: a duplex byte stream with half-close (`end()`), plus where it came from. */
export interface Channel {
  readonly stream: Duplex
  readonly remote: string
}

/** What a transport provides. */
export interface TransportShape {
  readonly name: TransportName
  /**
   * Binds the tunnel address and runs `onChannel` for every incoming channel in its own fiber; the
   * channel is closed when that fiber ends. Closing the scope unbinds and closes everything.
   */
  readonly listen: <R>(
    address: HostPort,
    onChannel: (channel: Channel) => Effect.Effect<void, never, R>
  ) => Effect.Effect<HostPort, SocketError, Scope.Scope | R>
  /** Opens a channel to the server; it is closed when the scope closes. */
  readonly dial: (address: HostPort) => Effect.Effect<Channel, SocketError, Scope.Scope>
}

/** The transport chosen for this process. */
export class Transport extends Context.Tag("backhaul/Transport")<Transport, TransportShape>() {}
