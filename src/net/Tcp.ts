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
import { type Cancel, type Done, once, toEffect } from "./Callback.ts"
import * as Owned from "./Owned.ts"

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

/**
 * Closes a stream once what was written to it has been handed to the OS (a refusal the peer should
 * read), instead of dropping it with `destroy()`.
 */
export const closeAfterFlush = (stream: { end: () => unknown; once: (e: "finish", f: () => void) => unknown; destroy: () => void }) => {
  stream.once("finish", () => stream.destroy())
  stream.end()
}

/** Closes a socket now, whatever state it is in. */
export const destroy = (socket: { destroy: () => void; destroyed: boolean }): void => {
  if (!socket.destroyed) socket.destroy()
}

/** Runs an Effect in the listener's scope: for the rare connection that needs a fiber of its own. */
export type Fork = (effect: Effect.Effect<void>) => void

/**
 * Binds `address` and calls `onSocket` for every accepted connection. Sockets belong to the listener:
 * closing the scope stops listening and destroys every socket still open, and interrupts every fiber
 * started with `fork`. Returns the bound address (useful with port 0).
 */
export const listen = (
  address: HostPort,
  options: SocketOptions,
  onSocket: (socket: net.Socket, fork: Fork) => void
): Effect.Effect<HostPort, SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const fork: Fork = yield* FiberSet.makeRuntime<never, void, never>()
    const owned = yield* Owned.make
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
      owned.add(configure(socket, options))
      onSocket(socket, fork)
    })
    const bound = server.address() as net.AddressInfo
    return { host: bound.address, port: bound.port }
  })

/**
 * Connects to `address` within `timeoutSeconds` and calls back with the configured socket. The caller
 * owns the socket from then on; cancelling before that destroys it.
 */
export const connect = (
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number,
  done: Done<net.Socket, SocketError>
): Cancel => {
  const finish = once(done)
  const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen: true })
  const fail = (reason: "Connect" | "Timeout", detail: string) => {
    clearTimeout(timer)
    socket.destroy()
    finish(new SocketError({ reason, address: formatHostPort(address), detail }))
  }
  const timer = setTimeout(() => fail("Timeout", `no answer within ${timeoutSeconds}s`), timeoutSeconds * 1000)
  const onError = (e: Error) => fail("Connect", e.message)
  socket.once("error", onError)
  let handedOver = false
  socket.once("connect", () => {
    clearTimeout(timer)
    socket.off("error", onError)
    handedOver = true
    finish(undefined, configure(socket, options))
  })
  return () => {
    clearTimeout(timer)
    if (!handedOver) socket.destroy()
  }
}

/** `connect` as a scoped Effect: the socket is destroyed when the scope closes. */
export const dial = (
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number
): Effect.Effect<net.Socket, SocketError, Scope.Scope> =>
  Effect.acquireRelease(
    toEffect<net.Socket, SocketError>((done) => connect(address, options, timeoutSeconds, done)),
    (socket) => Effect.sync(() => destroy(socket))
  )
