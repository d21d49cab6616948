/**
 * The server's user-facing listeners: one per port of every mapping. Each accepted connection takes a
 * data channel from the hub, tells the client where to connect (`Connect`), and is piped through. A port
 * that cannot be bound is logged and retried without holding up the others; a failing connection only
 * ever closes itself.
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { formatHostPort, type PortMapping } from "../config/Config.ts"
import { expandMapping } from "../config/PortMapping.ts"
import * as Handshake from "../protocol/Handshake.ts"
import type { Conn } from "../net/Conn.ts"
import * as Tcp from "../net/Tcp.ts"
import * as FramedPipe from "../tunnel/FramedPipe.ts"
import * as Stats from "../tunnel/Stats.ts"
import * as Attempt from "../util/Attempt.ts"
import * as Log from "../util/Log.ts"
import type { DataChannel, Hub, HubError } from "./Hub.ts"

/** One bound user port. */
export interface UserPort {
  readonly bindHost: string
  readonly port: number
  readonly targetHost: string
  readonly targetPort: number
}

/** Everything the listeners share. */
export interface UserPortsContext {
  readonly hub: Hub
  readonly token: Redacted.Redacted<string>
  readonly stats: Stats.Stats
  readonly socketOptions: Tcp.SocketOptions
  readonly log: Log.Log
}

/**
 * Serves one user connection on `port`, in plain callbacks: take an idle data channel (or wait in the
 * hub's queue, giving up the place if the user resets), write Connect, pipe.
 */
const serve = (ctx: UserPortsContext, port: UserPort, warn: (m: string) => void) => {
  const { hub, stats, log } = ctx
  const target = formatHostPort({ host: port.targetHost, port: port.targetPort })
  const through = (socket: Conn, channel: DataChannel): void => {
    channel.uses++
    Handshake.sendFrame(channel.conn, Handshake.connectFrame(ctx.token, channel.id, channel.uses, port.port, target))
    Stats.started(stats)
    FramedPipe.run(socket, channel.conn, (outcome) => {
      Stats.finished(stats, { aToB: outcome.sent, bToA: outcome.received })
      hub.release(channel, outcome.reusable)
      log(LogLevel.Debug, () => `port ${port.port}: closed, ${outcome.sent} bytes up, ${outcome.received} down`)
    })
  }
  const failed = (e: HubError) => {
    if (e.reason === "Full") {
      stats.refused++
      return warn(`port ${port.port}: refused a connection, ${hub.waiting} already waiting (channel_size)`)
    }
    stats.failed++
    warn(`port ${port.port}: no tunnel data channel became ready in time; closed the connection`)
  }
  const wait = (socket: Conn): void => {
    // a user who resets the connection while waiting gives up its place in the queue
    const gone = () => cancel()
    socket.onClose(gone)
    const cancel = hub.wait((error, channel) => {
      socket.offClose(gone)
      if (error) {
        socket.destroy()
        return failed(error)
      }
      through(socket, channel!)
    })
  }
  return (socket: Conn): void => {
    const idle = hub.tryTake()
    if (idle) through(socket, idle)
    else wait(socket)
  }
}

/** Binds every port of every mapping for the life of the scope. */
export const bindAll = (
  mappings: ReadonlyArray<PortMapping>,
  ctx: UserPortsContext
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const warn = Log.rateLimited(ctx.log, LogLevel.Warning)
    const ports = mappings.flatMap(expandMapping)
    let bound = 0
    for (const port of ports) {
      const where = formatHostPort({ host: port.bindHost, port: port.port })
      // each attempt in its own child scope, so a port retried for days does not pile up finalizers
      const listen = Attempt.attempt(
        Tcp.listen({ host: port.bindHost, port: port.port }, ctx.socketOptions, serve(ctx, port, warn))
      )
      // bind now so the ports are up when start-up completes; a port that is taken is retried on its own
      yield* listen.pipe(
        Effect.tap(() => bound++),
        Effect.catchAll((e) =>
          Effect.logError(`cannot listen on ${where}: ${e.detail}; retrying every 10s`).pipe(
            Effect.zipRight(listen.pipe(
              Effect.retry(Schedule.spaced("10 seconds")),
              Effect.tap(() => Effect.logInfo(`listening on ${where} at last`)),
              Effect.forkScoped
            ))
          )
        )
      )
    }
    yield* Effect.logInfo(`user ports: ${bound} of ${ports.length} listening, for ${mappings.length} mapping(s)`)
  })
