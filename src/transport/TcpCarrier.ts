/**
 * The tcp carrier: every carrier connection is its own TCP connection. It decides its own socket
 * options: the tunnel hop always runs without Nagle (it forwards what it reads as it reads it, so Nagle
 * there only adds delayed-ACK stalls: a Connect header followed by the first bytes waited ~40 ms), with
 * TCP keep-alive after `keepalive_period` as its keepalive; `nodelay` keeps its meaning on the user-facing
 * and target sockets, where the application's own small writes are.
 */
import * as Layer from "effect/Layer"
import * as Effect from "effect/Effect"
import { Network, type NetworkShape } from "../net/Network.ts"
import type * as Tcp from "../net/Tcp.ts"
import { Carrier, type CarrierShape, fromSocketError } from "./Transport.ts"

/** Options of the tcp carrier. */
export interface TcpCarrierOptions {
  readonly keepaliveSeconds: number
  readonly dialTimeoutSeconds: number
}

/** Builds the tcp carrier on `network`. */
export const make = (options: TcpCarrierOptions, network: NetworkShape): CarrierShape => {
  const socket: Tcp.SocketOptions = { nodelay: true, keepaliveSeconds: options.keepaliveSeconds }
  return {
    name: "tcp",
    listen: (address, onChannel, owner) => Effect.mapError(network.listen(address, socket, onChannel, owner), fromSocketError),
    open: (address, done) =>
      network.connect(address, socket, options.dialTimeoutSeconds, (error, conn) =>
        error ? done(fromSocketError(error)) : done(undefined, conn))
  }
}

/** The tcp carrier as a layer, on the `Network` it is given. */
export const layer = (options: TcpCarrierOptions): Layer.Layer<Carrier, never, Network> =>
  Layer.effect(Carrier, Effect.map(Network, (network) => make(options, network)))
