/**
 * Picks the transport layer named in the config — the only place that knows every transport. Everything
 * above it depends on the `Transport` tag alone.
 */
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import type { CommonConfig, TransportName } from "../config/Config.ts"
import * as TcpTransport from "./TcpTransport.ts"
import type { Transport } from "./Transport.ts"

/** Transports this build implements. */
export const implemented: ReadonlyArray<TransportName> = ["tcp"]

/** The transport layer for a config, or why there is none. */
export const layerFor = (config: CommonConfig): Either.Either<Layer.Layer<Transport>, string> => {
  // The tunnel's own hop always runs without Nagle: it forwards what it reads as it reads it, so Nagle
  // there only adds delayed-ACK stalls (the Connect header followed by the first bytes waited ~40 ms).
  // `nodelay` keeps its meaning on the user-facing and target sockets, where the application's own
  // small writes are.
  const socket = {
    nodelay: true,
    keepaliveSeconds: config.keepalive_period,
    dialTimeoutSeconds: config.dial_timeout
  }
  switch (config.transport) {
    case "tcp":
      return Either.right(TcpTransport.layer(socket))
    default:
      return Either.left(
        `transport "${config.transport}" is not implemented in this version yet (available: ${implemented.join(", ")})`
      )
  }
}
