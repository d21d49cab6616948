/**
 * backhaul as a library: the layers a program composes to run a tunnel endpoint in-process, the config
 * types and loaders, and the transport interface for adding transports.
 *
 *   import { Tunnel, Load } from "backhaul"
 *   const config = Load.makeServerConfig({ bind_addr: { host: "0.0.0.0", port: 3080 }, ports: [...] })
 *   Layer.launch(Tunnel.serverLayer(config)).pipe(NodeRuntime.runMain)
 */
export * as Client from "./client/Client.ts"
export * as Config from "./config/Config.ts"
export * as Load from "./config/Load.ts"
export * as Conn from "./net/Conn.ts"
export * as MemoryConn from "./net/MemoryConn.ts"
export * as Tcp from "./net/Tcp.ts"
export * as PortMapping from "./config/PortMapping.ts"
export * as Protocol from "./protocol/Protocol.ts"
export * as Server from "./server/Server.ts"
export * as TcpCarrier from "./transport/TcpCarrier.ts"
export * as Pooled from "./transport/Pooled.ts"
export * as Mux from "./transport/mux/Mux.ts"
export * as Transport from "./transport/Transport.ts"
export * as Transports from "./transport/Transports.ts"
export * as WsCarrier from "./transport/ws/WsCarrier.ts"
export * as TrustedProxies from "./transport/ws/TrustedProxies.ts"
export * as Tunnel from "./Tunnel.ts"
export * as FramedPipe from "./tunnel/FramedPipe.ts"
export * as Schedules from "./tunnel/Schedules.ts"
export * as Stats from "./tunnel/Stats.ts"
