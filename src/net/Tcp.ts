/**
 * Plain TCP listening and dialing as scoped resources: the one place connections are created, configured
 * (nodelay, keep-alive, half-open) and registered with a Scope. Used by the tcp carrier, the server's
 * user-facing ports and the client's target dials alike. The socket backend is Bun's native one when
 * running under Bun, `node:net` otherwise (`BACKHAUL_SOCKETS=node` forces it).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { formatHostPort, type HostPort } from "../config/Config.ts"
import * as BunConn from "./BunConn.ts"
import { type Cancel, type Done, once, toEffect } from "./Callback.ts"
import type { Backend, Conn, Listener, SocketOptions } from "./Conn.ts"
import * as KeepAlive from "./KeepAlive.ts"
import * as ListenErrors from "./ListenErrors.ts"
import * as NodeConn from "./NodeConn.ts"
import * as Owned from "./Owned.ts"

export type { Conn, SocketOptions } from "./Conn.ts"

/** Listening or dialing failed. */
export class SocketError extends Schema.TaggedError<SocketError>()("SocketError", {
  reason: Schema.Literal("Listen", "Connect", "Timeout"),
  address: Schema.String,
  detail: Schema.String,
  /** the system's or TLS library's code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, …) */
  code: Schema.optional(Schema.String)
}) {
  get message() {
    return `${this.reason} ${this.address}: ${this.detail}`
  }
}

const choose = (): Backend => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const bunPresent = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  return bunPresent && env?.BACKHAUL_SOCKETS !== "node" ? BunConn.backend : NodeConn.backend
}

/** The socket backend of this process. */
const plain: Backend = choose()

/** TLS runs on `node:tls` in every runtime (under Bun too: Bun's own TLS sockets are not wired in yet). */
const backendFor = (options: SocketOptions): Backend => (options.tls === undefined ? plain : NodeConn.backend)

const codeOf = (e: Error): string | undefined => {
  const code = (e as { code?: unknown }).code
  return typeof code === "string" ? code : undefined
}

/**
 * Binds `address` and calls `onConn` for every accepted connection. Connections belong to the listener:
 * closing the scope stops listening and destroys every connection still open. Returns the bound address
 * (useful with port 0).
 */
export const listen = (
  address: HostPort,
  options: SocketOptions,
  onConn: (conn: Conn) => void,
  /** who owns accepted connections instead: closing the scope then only unbinds (a drain or a reload) */
  owner?: Owned.Owned
): Effect.Effect<HostPort, SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const owned = owner ?? (yield* Owned.make)
    const listener = yield* Effect.acquireRelease(
      toEffect<Listener, Error>((done) => {
        backendFor(options).listen(address.host, address.port, options, (conn) => {
          owned.add(conn)
          KeepAlive.later(conn, options.keepaliveSeconds)
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

/**
 * Connects to `address` within `timeoutSeconds` and calls back with the connection. The caller owns it
 * from then on; cancelling before that abandons the attempt.
 */
export const connect = (
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number,
  done: Done<Conn, SocketError>
): Cancel => {
  const finish = once(done)
  const timer = setTimeout(() => {
    cancel()
    finish(new SocketError({ reason: "Timeout", address: formatHostPort(address), detail: `no answer within ${timeoutSeconds}s` }))
  }, timeoutSeconds * 1000)
  const cancel = backendFor(options).connect(address.host, address.port, options, (error, conn) => {
    clearTimeout(timer)
    if (error) {
      return finish(new SocketError({ reason: "Connect", address: formatHostPort(address), detail: error.message, code: codeOf(error) }))
    }
    KeepAlive.later(conn!, options.keepaliveSeconds)
    finish(undefined, conn)
  })
  return () => {
    clearTimeout(timer)
    cancel()
  }
}

/** `connect` as a scoped Effect: the connection is destroyed when the scope closes. */
export const dial = (
  address: HostPort,
  options: SocketOptions,
  timeoutSeconds: number
): Effect.Effect<Conn, SocketError, Scope.Scope> =>
  Effect.acquireRelease(
    toEffect<Conn, SocketError>((done) => connect(address, options, timeoutSeconds, done)),
    (conn) => Effect.sync(() => conn.destroy())
  )
