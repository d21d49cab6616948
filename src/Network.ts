/**
 * The network a tunnel runs on, chosen by the host program: real sockets, or an in-memory network on
 * which a whole tunnel (tunnel port, user ports, targets) runs without binding anything — for testing a
 * program against a real server and client. Every endpoint built from `Tunnel` needs one:
 *
 *   Tunnel.serverLayer(config).pipe(Layer.provide(Network.tcp))
 *
 * On the in-memory network, the server, the client and the test's own `serve` / `open` must share one
 * instance: provide one layer value once, above all of them. `serve` and `open` are the host program's
 * own ends of a tunnel (a target, a user) as Effect values, on whichever network is provided.
 */
import type * as Layer from "effect/Layer"
import * as MemoryNetwork from "./net/MemoryNetwork.ts"
import type { Network as NetworkTag } from "./net/Network.ts"
import * as Tcp from "./net/Tcp.ts"

export { Network, SocketError, type NetworkShape } from "./net/Network.ts"
export { type Address, type Connection, ConnectionError, open, serve } from "./net/Connection.ts"
export type { BackendName, TcpOptions } from "./net/Tcp.ts"

/** Real TCP sockets (Bun's native sockets under Bun, `node:net` under Node and Deno). */
export const tcp: Layer.Layer<NetworkTag> = Tcp.layer()

/** Real TCP sockets with options: `backend: "node"` forces `node:net` under Bun too. */
export const tcpWith = (options: Tcp.TcpOptions): Layer.Layer<NetworkTag> => Tcp.layer(options)

/**
 * An in-memory network: one instance per build of the layer (share it by providing it once). TLS is not
 * available on it (`wss` and `wssmux` need real sockets); addresses behave as on loopback.
 */
export const memory: Layer.Layer<NetworkTag> = MemoryNetwork.layer
