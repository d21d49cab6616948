/**
 * The `tcp` transport: every channel is its own TCP connection.
 */
import * as Layer from "effect/Layer"
import * as Tcp from "../net/Tcp.ts"
import { Transport, type TransportShape } from "./Transport.ts"

/** Options of the tcp transport. */
export interface TcpTransportOptions extends Tcp.SocketOptions {
  readonly dialTimeoutSeconds: number
}

/** Builds the tcp transport. */
export const make = (options: TcpTransportOptions): TransportShape => ({
  name: "tcp",
  listen: (address, onChannel) => Tcp.listen(address, options, onChannel),
  open: (address, done) => Tcp.connect(address, options, options.dialTimeoutSeconds, done)
})

/** The tcp transport as a layer. */
export const layer = (options: TcpTransportOptions): Layer.Layer<Transport> => Layer.succeed(Transport, make(options))
