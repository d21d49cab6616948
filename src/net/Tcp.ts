/**
 * The real-socket `Network`: TCP (and TLS) listening and dialing, the one place such connections are
 * created, configured (nodelay, keep-alive, half-open) and registered with a Scope. The socket backend is
 * an option of the instance: Bun's native sockets under Bun (`"auto"`), `node:net` otherwise or when asked
 * for. Each instance has its own keep-alive sweeper, stopped with its scope.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { formatHostPort } from "../config/Config.ts"
import * as BunConn from "./BunConn.ts"
import { once, toEffect } from "./Callback.ts"
import type { Backend, Listener, SocketOptions } from "./Conn.ts"
import * as KeepAlive from "./KeepAlive.ts"
import * as ListenErrors from "./ListenErrors.ts"
import { Network, type NetworkShape, SocketError } from "./Network.ts"
import * as NodeConn from "./NodeConn.ts"
import * as Owned from "./Owned.ts"

export type { Conn, SocketOptions } from "./Conn.ts"
export { SocketError } from "./Network.ts"

/** Which socket API carries plain TCP: Bun's native sockets, `node:net`, or the best the runtime has. */
export type BackendName = "auto" | "bun" | "node"

/** Options of a real-socket network. */
export interface TcpOptions {
  /** default "auto": Bun's native sockets under Bun, `node:net` elsewhere */
  readonly backend?: BackendName | undefined
}

const bunPresent = (): boolean => typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"

const choose = (name: BackendName): Effect.Effect<Backend> => {
  if (name === "node") return Effect.succeed(NodeConn.backend)
  if (bunPresent()) return Effect.succeed(BunConn.backend)
  return name === "auto" ? Effect.succeed(NodeConn.backend) : Effect.dieMessage("the bun socket backend needs the Bun runtime")
}

const codeOf = (e: Error): string | undefined => {
  const code = (e as { code?: unknown }).code
  return typeof code === "string" ? code : undefined
}

/** A real-socket network for the life of the scope. */
export const make = (options: TcpOptions = {}): Effect.Effect<NetworkShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const plain = yield* choose(options.backend ?? "auto")
    // TLS runs on `node:tls` in every runtime (under Bun too: Bun's own TLS sockets are not wired in yet)
    const backendFor = (socket: SocketOptions): Backend => (socket.tls === undefined ? plain : NodeConn.backend)
    const keepAlive = yield* Effect.acquireRelease(
      Effect.sync(() => new KeepAlive.Sweeper()),
      (sweeper) => Effect.sync(() => sweeper.stop())
    )

    const listen: NetworkShape["listen"] = (address, socket, onConn, owner) =>
      Effect.gen(function*() {
        const owned = owner ?? (yield* Owned.make)
        const listener = yield* Effect.acquireRelease(
          toEffect<Listener, Error>((done) => {
            backendFor(socket).listen(address.host, address.port, socket, (conn) => {
              owned.add(conn)
              keepAlive.later(conn, socket.keepaliveSeconds)
              onConn(conn)
            }, done)
            return () => {}
          }).pipe(
            // the runtimes' messages do not say why ("Failed to listen at HOST"): the errno's meaning does
            Effect.catchAll((error) =>
              Effect.flatMap(ListenErrors.explain(address.host, address.port, error), ({ code, detail }) =>
                new SocketError({ reason: "Listen", address: formatHostPort(address), detail, code }))
            )
          ),
          (listener) => Effect.sync(() => listener.stop())
        )
        return { host: listener.host, port: listener.port }
      })

    const connect: NetworkShape["connect"] = (address, socket, timeoutSeconds, done) => {
      const finish = once(done)
      const timer = setTimeout(() => {
        cancel()
        finish(new SocketError({ reason: "Timeout", address: formatHostPort(address), detail: `no answer within ${timeoutSeconds}s` }))
      }, timeoutSeconds * 1000)
      const cancel = backendFor(socket).connect(address.host, address.port, socket, (error, conn) => {
        clearTimeout(timer)
        if (error) {
          return finish(new SocketError({ reason: "Connect", address: formatHostPort(address), detail: error.message, code: codeOf(error) }))
        }
        keepAlive.later(conn!, socket.keepaliveSeconds)
        finish(undefined, conn)
      })
      return () => {
        clearTimeout(timer)
        cancel()
      }
    }

    return { name: `tcp (${plain.name === "bun" ? "bun sockets" : "node:net"})`, listen, connect }
  })

/** Real sockets as the `Network` layer. */
export const layer = (options: TcpOptions = {}): Layer.Layer<Network> => Layer.scoped(Network, make(options))
