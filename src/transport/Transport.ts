/**
 * What a tunnel transport is made of (docs/architecture.md, "Transports"): a **carrier** that makes
 * byte connections between client and server, and a **channel strategy** that decides how user
 * connections get through them — pooled data channels, or streams of a multiplexer over the carrier.
 * Every transport of the Go tool is one carrier with one strategy, composed as layers; the server and the
 * client only ever call these interfaces and never look at the transport's name.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Owned } from "../net/Owned.ts"
import type { HostPort, TransportName } from "../config/Config.ts"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import type { SocketError } from "../net/Tcp.ts"
import type { ChannelStrategy } from "./Channels.ts"

/** One carrier connection: bytes with half-close (`end()`) that know their peer (`peer`). */
export type Channel = Conn

/** A carrier failed to listen, to connect, or lost what it carried. */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: Schema.Literal("Listen", "Connect", "Timeout", "Handshake", "SessionLost"),
  address: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  get message() {
    return `${this.reason} ${this.address}: ${this.detail}`
  }
}

/** A socket's failure as the carrier's: the same reason, address and detail, the socket error as cause. */
export const fromSocketError = (e: SocketError): TransportError =>
  new TransportError({ reason: e.reason, address: e.address, detail: e.detail, cause: e })

/**
 * What a carrier provides. It owns its own handshake (none for TCP; an upgrade or TLS for others), its
 * socket options, its keepalive (TCP keep-alive here; a WebSocket carrier pings through proxies), and the
 * structured peer address of each connection (`Conn.peer`).
 */
export interface CarrierShape {
  /** for logs: "tcp", "ws", … */
  readonly name: string
  /**
   * Binds the tunnel address and calls `onChannel` for every incoming connection. Closing the scope
   * unbinds and closes every connection still open — unless an `owner` takes them: then closing the
   * scope only unbinds, and the connections live until the owner's scope closes.
   */
  readonly listen: (
    address: HostPort,
    onChannel: (channel: Channel) => void,
    owner?: Owned
  ) => Effect.Effect<HostPort, TransportError, Scope.Scope>
  /**
   * Opens a connection to the server and calls back with it; the caller owns it from then on.
   * Callback-shaped because it is on the per-connection path (see `net/Callback.ts`).
   */
  readonly open: (address: HostPort, done: Done<Channel, TransportError>) => Cancel
}

/** The carrier a transport runs on. */
export class Carrier extends Context.Tag("backhaul/Carrier")<Carrier, CarrierShape>() {}

/** A whole transport: its name, its carrier and its channel strategy. */
export interface TransportShape {
  /**
   * The name both sides must agree on in the handshake. TLS is not part of it (wss speaks as ws,
   * wssmux as wsmux), since a proxy in front of the server may terminate TLS.
   */
  readonly name: TransportName
  readonly carrier: CarrierShape
  readonly channels: ChannelStrategy
}

/** The transport chosen for this process. */
export class Transport extends Context.Tag("backhaul/Transport")<Transport, TransportShape>() {}

/** Opens a carrier connection as a scoped Effect: it is closed when the scope closes. */
export const dial = (carrier: CarrierShape, address: HostPort): Effect.Effect<Channel, TransportError, Scope.Scope> =>
  Effect.acquireRelease(
    toEffect<Channel, TransportError>((done) => carrier.open(address, done)),
    (channel) => Effect.sync(() => channel.destroy())
  )
