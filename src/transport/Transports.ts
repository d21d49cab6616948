/**
 * Picks the transport named in the config — the only place that knows every transport — as a carrier
 * layer under a channel-strategy layer. Everything above depends on the `Transport` tag alone.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type { AnyConfig, TransportName } from "../config/Config.ts"
import { Network } from "../net/Network.ts"
import * as TlsFiles from "../config/TlsFiles.ts"
import * as Mux from "./mux/Mux.ts"
import * as MuxSettings from "./mux/Settings.ts"
import * as Pooled from "./Pooled.ts"
import * as TcpCarrier from "./TcpCarrier.ts"
import { Carrier, type Transport } from "./Transport.ts"
import * as TrustedProxies from "./ws/TrustedProxies.ts"
import * as WsCarrier from "./ws/WsCarrier.ts"

/** Transports this build implements. */
export const implemented: ReadonlyArray<TransportName> = ["tcp", "tcpmux", "ws", "wss", "wsmux", "wssmux"]

const problemText = (role: string, problems: ReadonlyArray<TlsFiles.Problem>) =>
  problems.map((p) => `${role}.${p.key}: ${p.message}`).join("; ")

/** The WebSocket carrier for a config (with TLS for wss/wssmux), or why the TLS files do not do. */
const wsCarrier = (config: AnyConfig): Either.Either<Layer.Layer<Carrier, never, Network>, string> => {
  const secure = TlsFiles.secure(config.transport)
  const common = {
    name: secure ? "wss" : "ws",
    path: config.ws_path,
    pingSeconds: config.ws_ping_interval,
    keepaliveSeconds: config.keepalive_period,
    dialTimeoutSeconds: config.dial_timeout
  }
  if (config.role === "server") {
    const options = { ...common, trusted: TrustedProxies.make(config.trusted_proxies) }
    if (!secure) return Either.right(WsCarrier.layer(options))
    return Either.match(TlsFiles.server(config), {
      onLeft: (problems) => Either.left(problemText("server", problems)),
      onRight: ({ cert, key }) =>
        Either.right(WsCarrier.layer({
          ...options,
          tlsServer: { role: "server", cert, key, handshakeMillis: config.dial_timeout * 1000 }
        }))
    })
  }
  const edge = config.edge_ip === undefined
    ? undefined
    : { host: config.edge_ip.host, port: config.edge_ip.port ?? config.remote_addr.port }
  const options = { ...common, trusted: TrustedProxies.make([]), edge }
  if (!secure) return Either.right(WsCarrier.layer(options))
  return Either.match(TlsFiles.client(config), {
    onLeft: (problems) => Either.left(problemText("client", problems)),
    onRight: (ca) =>
      Either.right(Layer.effect(
        Carrier,
        Effect.map(Effect.all([Effect.runtime<never>(), Network]), ([runtime, network]) =>
          WsCarrier.make({
            ...options,
            tlsClient: {
              role: "client",
              serverName: config.tls_server_name ?? config.remote_addr.host,
              ca,
              verify: !config.tls_insecure_skip_verify
            },
            warnInsecure: (message) => Runtime.runFork(runtime)(Effect.logWarning(message))
          }, network))
      ))
  })
}

/** The transport layer for a config, or why there is none. */
export const layerFor = (config: AnyConfig): Either.Either<Layer.Layer<Transport, never, Network>, string> => {
  const tcp = TcpCarrier.layer({ keepaliveSeconds: config.keepalive_period, dialTimeoutSeconds: config.dial_timeout })
  switch (config.transport) {
    case "tcp":
      return Either.right(Layer.provide(Pooled.layer("tcp"), tcp))
    case "tcpmux":
      return Either.right(Layer.provide(Mux.layer("tcpmux", MuxSettings.fromConfig(config)), tcp))
    // wss and wssmux speak as ws and wsmux in the handshake: TLS is a layer under the WebSocket that a
    // proxy in front of the server may terminate (a wss client, nginx with the certificate, a ws server)
    case "ws":
    case "wss":
      return Either.map(wsCarrier(config), (carrier) => Layer.provide(Pooled.layer("ws"), carrier))
    case "wsmux":
    case "wssmux":
      return Either.map(
        wsCarrier(config),
        (carrier) => Layer.provide(Mux.layer("wsmux", MuxSettings.fromConfig(config)), carrier)
      )
    default:
      return Either.left(
        `transport "${config.transport}" is not implemented in this version yet (available: ${implemented.join(", ")})`
      )
  }
}
