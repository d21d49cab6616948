/**
 * The server's user-facing listeners: one per port of every mapping. Each accepted connection takes a
 * data channel from the hub, tells the client where to connect (`Connect`), and is piped through. A port
 * that cannot be bound is logged and retried without holding up the others; a failing connection only
 * ever closes itself.
 */
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import { formatHostPort, type PortMapping } from "../config/Config.ts"
import { expandMapping } from "../config/PortMapping.ts"
import * as Handshake from "../protocol/Handshake.ts"
import * as Tcp from "../net/Tcp.ts"
import * as Pipe from "../tunnel/Pipe.ts"
import type { Stats } from "../tunnel/Stats.ts"
import * as RateLimitedLog from "../util/RateLimitedLog.ts"
import { type Holder, type Hub, HubError } from "./Hub.ts"
import { awaitClose } from "../net/Closed.ts"

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
  readonly stats: Stats
  readonly socketOptions: Tcp.SocketOptions
}

/** Serves one user connection on `port`. */
const serve = (ctx: UserPortsContext, port: UserPort, warnRefused: (m: string) => Effect.Effect<void>) => {
  const connect = { _tag: "Connect", port: port.port, target: formatHostPort({ host: port.targetHost, port: port.targetPort }) } as const
  return (socket: net.Socket): Effect.Effect<void> => {
    const held: Holder = { channel: undefined }
    // a user who resets the connection while waiting gives up its place in the queue
    const userGone = Effect.zipRight(awaitClose(socket), new HubError({ reason: "Gone" }))
    return Effect.gen(function*() {
      const channel = ctx.hub.tryTake(held) ?? (yield* Effect.raceFirst(ctx.hub.take(held), userGone))
      yield* Handshake.sendFrame(channel.stream, connect)
      ctx.stats.opened++
      ctx.stats.active++
      const moved = yield* Pipe.pipe(socket, channel.stream).pipe(
        Effect.ensuring(Effect.sync(() => ctx.stats.active--))
      )
      ctx.stats.bytesUp += moved.aToB
      ctx.stats.bytesDown += moved.bToA
      yield* Effect.logDebug(`closed: ${moved.aToB} bytes up, ${moved.bToA} down`)
    }).pipe(
      // the data channel is single-use: whatever happened, it is closed when this connection is done
      Effect.ensuring(Effect.sync(() => held.channel?.stream.destroy())),
      Effect.catchTag("HubError", (e) => {
        if (e.reason === "Gone") return Effect.void
        if (e.reason === "Full") {
          ctx.stats.refused++
          return warnRefused(`port ${port.port}: refused a connection, ${ctx.hub.waiting} already waiting (channel_size)`)
        }
        ctx.stats.failed++
        return warnRefused(`port ${port.port}: no tunnel data channel became ready in time; closed the connection`)
      }),
      Effect.annotateLogs({ port: port.port, from: `${socket.remoteAddress}:${socket.remotePort}` })
    )
  }
}

/** Binds every port of every mapping for the life of the scope. */
export const bindAll = (
  mappings: ReadonlyArray<PortMapping>,
  ctx: UserPortsContext
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const warnRefused = RateLimitedLog.make(LogLevel.Warning)
    const ports = mappings.flatMap(expandMapping)
    let bound = 0
    for (const port of ports) {
      const where = formatHostPort({ host: port.bindHost, port: port.port })
      const listen = Tcp.listen({ host: port.bindHost, port: port.port }, ctx.socketOptions, serve(ctx, port, warnRefused))
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
