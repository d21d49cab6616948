/**
 * Picks the transport named in the config — the only place that knows every transport — as a carrier
 * layer under a channel-strategy layer. Everything above depends on the `Transport` tag alone.
 */
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { CommonConfig, TransportName } from "../config/Config.ts"
import * as Mux from "./mux/Mux.ts"
import * as MuxSettings from "./mux/Settings.ts"
import * as Pooled from "./Pooled.ts"
import * as TcpCarrier from "./TcpCarrier.ts"
import type { Transport } from "./Transport.ts"

/** Transports this build implements. */
export const implemented: ReadonlyArray<TransportName> = ["tcp", "tcpmux"]

/** The transport layer for a config, or why there is none. */
export const layerFor = (config: CommonConfig): Either.Either<Layer.Layer<Transport>, string> => {
  const tcp = TcpCarrier.layer({ keepaliveSeconds: config.keepalive_period, dialTimeoutSeconds: config.dial_timeout })
  switch (config.transport) {
    case "tcp":
      return Either.right(Layer.provide(Pooled.layer("tcp"), tcp))
    case "tcpmux":
      return Either.right(Layer.provide(Mux.layer("tcpmux", MuxSettings.fromConfig(config)), tcp))
    default:
      return Either.left(
        `transport "${config.transport}" is not implemented in this version yet (available: ${implemented.join(", ")})`
      )
  }
}
