/**
 * The `tcp` transport: every channel is its own TCP connection.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { HostPort } from "../config/Config.ts"
import * as Tcp from "../net/Tcp.ts"
import { Transport, type TransportShape } from "./Transport.ts"

/** Options of the tcp transport. */
export interface TcpTransportOptions extends Tcp.SocketOptions {
  readonly dialTimeoutSeconds: number
}

const remoteOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
  `${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"}`

/** Builds the tcp transport. */
export const make = (options: TcpTransportOptions): TransportShape => ({
  name: "tcp",
  listen: (address: HostPort, onChannel) =>
    Tcp.listen(address, options, (socket) => onChannel({ stream: socket, remote: remoteOf(socket) })),
  dial: (address: HostPort) =>
    Effect.map(
      Tcp.dial(address, options, options.dialTimeoutSeconds),
      (socket) => ({ stream: socket, remote: remoteOf(socket) })
    )
})

/** The tcp transport as a layer. */
export const layer = (options: TcpTransportOptions): Layer.Layer<Transport> => Layer.succeed(Transport, make(options))
