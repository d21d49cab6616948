/**
 * The `tcp` transport: every channel is its own TCP connection.
 */
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
    Tcp.listen(address, options, (socket, fork) => onChannel({ stream: socket, remote: remoteOf(socket) }, fork)),
  open: (address: HostPort, done) =>
    Tcp.connect(
      address,
      options,
      options.dialTimeoutSeconds,
      (error, socket) => error ? done(error) : done(undefined, { stream: socket!, remote: remoteOf(socket!) })
    )
})

/** The tcp transport as a layer. */
export const layer = (options: TcpTransportOptions): Layer.Layer<Transport> => Layer.succeed(Transport, make(options))
