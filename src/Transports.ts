/**
 * The pieces a transport is made of, for programs that compose their own (docs/architecture.md,
 * "Transports"): a **carrier** layer that makes byte connections between client and server (`tcp`,
 * `ws`, yours), under a **channel strategy** layer that carries user connections through it (pooled
 * data channels, or streams of the multiplexer). `Tunnel.serverRole` / `Tunnel.clientRole` run on the
 * `Transport` such a stack provides:
 *
 *   const transport = Transports.mux("tcpmux", Transports.muxSettings(config)).pipe(
 *     Layer.provide(Transports.tcpCarrier({ keepaliveSeconds: 20, dialTimeoutSeconds: 10 })))
 *   Tunnel.serverRole(config).pipe(Layer.provide(transport), Layer.provide(Network.tcp))
 *
 * A carrier's `Channel`s are the unstable `Conn` interface (`backhaul/unstable`): writing a carrier of
 * your own ties you to it.
 */
export {
  Carrier,
  type CarrierShape,
  type Channel,
  Transport,
  TransportError,
  type TransportShape
} from "./transport/Transport.ts"
export { implemented, layerFor as forConfig } from "./transport/Transports.ts"
export { layer as tcpCarrier, type TcpCarrierOptions } from "./transport/TcpCarrier.ts"
export { layer as wsCarrier, type WsCarrierOptions } from "./transport/ws/WsCarrier.ts"
export { make as trustedProxies, type TrustedProxies } from "./transport/ws/TrustedProxies.ts"
export { layer as pooled } from "./transport/Pooled.ts"
export { layer as mux } from "./transport/mux/Mux.ts"
export { fromConfig as muxSettings, type MuxSettings } from "./transport/mux/Settings.ts"
