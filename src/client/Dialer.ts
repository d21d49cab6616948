/**
 * The client side of one data channel: open it, join it to the session, wait (idle, in the server's pool)
 * for the server's `Connect`, dial the target — the `forwarder` override for that server port, else the
 * server's choice — and pipe. A target that refuses fails this one connection only.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { formatHostPort, type ClientConfig, type HostPort } from "../config/Config.ts"
import { parseHostPort } from "../config/PortMapping.ts"
import * as Tcp from "../net/Tcp.ts"
import * as Handshake from "../protocol/Handshake.ts"
import { ProtocolError } from "../protocol/Protocol.ts"
import * as Pipe from "../tunnel/Pipe.ts"
import * as Schedules from "../tunnel/Schedules.ts"
import type { Stats } from "../tunnel/Stats.ts"
import { Transport } from "../transport/Transport.ts"
import * as Attempt from "../util/Attempt.ts"

/** What every data channel of a client shares. */
export interface DialerContext {
  readonly config: ClientConfig
  readonly stats: Stats
  readonly warn: (message: string) => Effect.Effect<void>
}

/** Where a Connect for `port` should go. */
export const resolveTarget = (
  config: ClientConfig,
  port: number,
  serverTarget: string
): Either.Either<HostPort, string> => {
  const override = config.forwarder.get(port)
  return override ? Either.right(override) : parseHostPort(serverTarget)
}

/** Runs one data channel of session `sessionId` to its end. Never fails: problems are logged. */
export const run = (ctx: DialerContext, sessionId: Buffer): Effect.Effect<void, never, Transport> =>
  Effect.scoped(Effect.gen(function*() {
    const { config, stats } = ctx
    const transport = yield* Transport
    const channel = yield* Attempt.attempt(
      transport.dial(config.remote_addr).pipe(
        Effect.flatMap((channel) =>
          Handshake.client(channel.stream, { token: config.token, transport: config.transport, kind: "data", sessionId })
            .pipe(Effect.as(channel))
        ),
        Effect.timeout(config.dial_timeout * 1000)
      )
    ).pipe(
      Effect.retry({ schedule: Schedules.dataDial, while: (e) => e._tag !== "ProtocolError" || e.reason === "Closed" })
    )
    const connect = yield* Handshake.readFrame(channel.stream)
    if (connect._tag !== "Connect") {
      return yield* new ProtocolError({ reason: "Malformed", detail: `expected Connect, got ${connect._tag}` })
    }
    const target = yield* Either.mapLeft(
      resolveTarget(config, connect.port, connect.target),
      (detail) => new ProtocolError({ reason: "Malformed", detail: `bad target ${JSON.stringify(connect.target)}: ${detail}` })
    )
    const socket = yield* Tcp.dial(target, { nodelay: config.nodelay, keepaliveSeconds: config.keepalive_period }, config.dial_timeout)
      .pipe(Effect.tapError(() => Effect.sync(() => stats.failed++)))
    stats.opened++
    stats.active++
    const moved = yield* Pipe.pipe(channel.stream, socket).pipe(Effect.ensuring(Effect.sync(() => stats.active--)))
    stats.bytesUp += moved.aToB
    stats.bytesDown += moved.bToA
    yield* Effect.logDebug(`closed ${formatHostPort(target)}: ${moved.aToB} bytes in, ${moved.bToA} out`)
  })).pipe(
    Effect.catchAll((e) =>
      e._tag === "ProtocolError" && (e.reason === "Closed" || e.reason === "UnknownSession")
        ? Effect.logDebug(`data channel ended: ${e.message}`)
        : ctx.warn(`data channel: ${e.message}`)
    )
  )
