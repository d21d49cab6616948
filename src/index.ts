/**
 * backhaul as a library: run a tunnel endpoint inside your own Effect program.
 *
 *   import { Config, Network, Tunnel } from "backhaul"
 *
 *   const config = Config.serverSync({ bind_addr: "0.0.0.0:3080", token: "secret", ports: ["443=5000"] })
 *   Layer.launch(Tunnel.serverLayer(config).pipe(Layer.provide(Network.tcp))).pipe(NodeRuntime.runMain)
 *
 * - `Config`: configs from files, TOML text or plain objects, all through one Schema.
 * - `Tunnel`: the server and client layers, and what a running endpoint reports.
 * - `Network`: real sockets or the in-memory network, and your own ends of a tunnel (`serve`, `open`).
 * - `Transports`: carrier and channel-strategy layers, for composing a transport yourself.
 *
 * Internals that will change (the byte pump, frame codecs, socket backends) are not here; the few a
 * program may still need are in `backhaul/unstable`, without any promise.
 */
export * as Config from "./Config.ts"
export * as Network from "./Network.ts"
export * as Transports from "./Transports.ts"
export * as Tunnel from "./Tunnel.ts"
