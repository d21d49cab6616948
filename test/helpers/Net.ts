/**
 * Real-socket listening and dialing for tests that work below the tunnel (handshakes, fake peers):
 * each call runs on a real-socket network of its own, closed with the caller's scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { HostPort } from "../../src/config/Config.ts"
import type { Conn, SocketOptions } from "../../src/net/Conn.ts"
import { dial as dialOn, type SocketError } from "../../src/net/Network.ts"
import * as Tcp from "../../src/net/Tcp.ts"

/** Binds `address`; connections go to `onConn` and close with the scope. */
export const listen = (
  address: HostPort,
  options: SocketOptions,
  onConn: (conn: Conn) => void
): Effect.Effect<HostPort, SocketError, Scope.Scope> =>
  Effect.flatMap(Tcp.make(), (network) => network.listen(address, options, onConn))

/** Connects to `address`; the connection closes with the scope. */
export const dial = (
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number
): Effect.Effect<Conn, SocketError, Scope.Scope> =>
  Effect.flatMap(Tcp.make(), (network) => dialOn(network, address, options, timeoutSeconds))

export type { SocketOptions } from "../../src/net/Conn.ts"
