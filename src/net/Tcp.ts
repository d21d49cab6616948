/**
 * Plain TCP listening and dialing as scoped resources: the one place `node:net` servers and sockets are
 * created, configured (nodelay, keep-alive, half-open) and registered with a Scope. Used by the `tcp`
 * transport and by the server's user-facing port listeners alike.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { formatHostPort, type HostPort } from "../config/Config.ts"

/** Listening or dialing failed. */
export class SocketError extends Schema.TaggedError<SocketError>()("SocketError", {
  reason: Schema.Literal("Listen", "Connect", "Timeout"),
  address: Schema.String,
  detail: Schema.String
}) {
  get message() {
    return `${this.reason} ${this.address}: ${this.detail}`
  }
}

/** Socket options applied to every tunnel or user socket. */
export interface SocketOptions {
  readonly nodelay: boolean
  /** seconds; 0 turns TCP keep-alive off */
  readonly keepaliveSeconds: number
}

const ignore = () => {}

/**
 * Prepares a fresh socket: an `error` listener so a reset never becomes an uncaught exception (the owner
 * sees the failure through `close`/reads), plus nodelay and keep-alive.
 */
export const configure = (socket: net.Socket, options: SocketOptions): net.Socket => {
  socket.on("error", ignore)
  if (options.nodelay) socket.setNoDelay(true)
  if (options.keepaliveSeconds > 0) socket.setKeepAlive(true, options.keepaliveSeconds * 1000)
  return socket
}

/** Closes a socket now, whatever state it is in. */
export const destroy = (socket: { destroy: () => void; destroyed: boolean }): void => {
  if (!socket.destroyed) socket.destroy()
}

/**
 * Binds `address` and runs `onSocket` for every accepted connection in its own fiber. The socket is
 * destroyed when that fiber ends; closing the scope stops listening and interrupts every fiber.
 * Returns the bound address (useful with port 0).
 */
export const listen = <R>(
  address: HostPort,
  options: SocketOptions,
  onSocket: (socket: net.Socket) => Effect.Effect<void, never, R>
): Effect.Effect<HostPort, SocketError, Scope.Scope | R> =>
  Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<R, void, never>()
    const server = yield* Effect.acquireRelease(
      Effect.async<net.Server, SocketError>((resume) => {
        const server = net.createServer({ allowHalfOpen: true })
        const onError = (e: Error) => {
          server.close()
          resume(new SocketError({ reason: "Listen", address: formatHostPort(address), detail: e.message }))
        }
        server.once("error", onError)
        server.listen({ host: address.host, port: address.port, backlog: 4096 }, () => {
          server.off("error", onError)
          server.on("error", ignore)
          resume(Effect.succeed(server))
        })
      }),
      (server) => Effect.sync(() => server.close())
    )
    server.on("connection", (socket: net.Socket) => {
      configure(socket, options)
      run(Effect.ensuring(onSocket(socket), Effect.sync(() => destroy(socket))))
    })
    const bound = server.address() as net.AddressInfo
    return { host: bound.address, port: bound.port }
  })

/**
 * Connects to `address` within `timeoutSeconds`. The socket belongs to the scope: it is destroyed when
 * the scope closes.
 */
export const dial = (
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number
): Effect.Effect<net.Socket, SocketError, Scope.Scope> => {
  const where = formatHostPort(address)
  return Effect.acquireRelease(
    Effect.async<net.Socket, SocketError>((resume) => {
      const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen: true })
      const onError = (e: Error) => {
        socket.destroy()
        resume(new SocketError({ reason: "Connect", address: where, detail: e.message }))
      }
      socket.once("error", onError)
      socket.once("connect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(configure(socket, options)))
      })
      return Effect.sync(() => socket.destroy())
    }).pipe(
      Effect.timeoutFail({
        duration: `${timeoutSeconds} seconds`,
        onTimeout: () => new SocketError({ reason: "Timeout", address: where, detail: `no answer within ${timeoutSeconds}s` })
      })
    ),
    (socket) => Effect.sync(() => destroy(socket))
  )
}
