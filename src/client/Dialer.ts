/**
 * The client side of one data channel: open it, join it to the session, wait (idle, in the server's pool)
 * for the server's `Connect`, dial the target — the `forwarder` override for that server port, else the
 * server's choice — and pipe. A target that refuses fails this one connection only.
 *
 * Per-connection path: the steps are callbacks inside two Effects (open, serve), see `net/Callback.ts`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { formatHostPort, type ClientConfig, type HostPort } from "../config/Config.ts"
import { parseHostPort } from "../config/PortMapping.ts"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import { deadline } from "../net/Deadline.ts"
import type { Owned } from "../net/Owned.ts"
import type { Fork } from "../net/Tcp.ts"
import * as LogLevel from "effect/LogLevel"
import * as Log from "../util/Log.ts"
import * as Tcp from "../net/Tcp.ts"
import * as Handshake from "../protocol/Handshake.ts"
import { ProtocolError } from "../protocol/Protocol.ts"
import type { Channel, TransportShape } from "../transport/Transport.ts"
import * as Pipe from "../tunnel/Pipe.ts"
import * as Schedules from "../tunnel/Schedules.ts"
import * as Stats from "../tunnel/Stats.ts"

/** What every data channel of a client shares. */
export interface DialerContext {
  readonly config: ClientConfig
  readonly transport: TransportShape
  readonly stats: Stats.Stats
  /** owns every socket, so closing the client closes them all */
  readonly owned: Owned
  /** runs the rare Effect (a retry on its Schedule) in the client's scope */
  readonly fork: Fork
  readonly log: Log.Log
  readonly warn: (message: string) => void
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

type Failure = Tcp.SocketError | ProtocolError

/** Opens a data channel and runs the data handshake for `sessionId`. */
const open = (ctx: DialerContext, sessionId: Buffer, done: Done<Channel, Failure>): Cancel => {
  const { config } = ctx
  let channel: Channel | undefined
  let current = ctx.transport.open(config.remote_addr, (error, opened) => {
    if (error) return done(error)
    channel = opened!
    const stream = channel
    ctx.owned.add(stream)
    current = deadline(
      stream,
      config.dial_timeout * 1000,
      () => new ProtocolError({ reason: "Timeout", detail: `no data channel handshake within ${config.dial_timeout}s` }),
      (d: Done<Buffer, ProtocolError>) =>
        Handshake.clientCb(stream, { token: config.token, transport: config.transport, kind: "data", sessionId }, d)
    )((error) => {
      if (error) {
        stream.destroy()
        return done(error)
      }
      done(undefined, channel)
    })
  })
  return () => {
    current()
    channel?.destroy()
  }
}

/** Waits for the server's Connect on an open channel, dials the target and pipes until both sides close. */
const serve = (ctx: DialerContext, channel: Channel, done: Done<void, Failure>): Cancel => {
  const { config, stats } = ctx
  let current = Handshake.readFrameCb(channel, (error, frame) => {
    if (error) return done(error)
    if (frame!._tag !== "Connect") {
      return done(new ProtocolError({ reason: "Malformed", detail: `expected Connect, got ${frame!._tag}` }))
    }
    const { port, target: asked } = frame!
    const target = resolveTarget(config, port, asked)
    if (Either.isLeft(target)) {
      return done(new ProtocolError({ reason: "Malformed", detail: `bad target ${JSON.stringify(asked)}: ${target.left}` }))
    }
    const options = { nodelay: config.nodelay, keepaliveSeconds: config.keepalive_period }
    current = Tcp.connect(target.right, options, config.dial_timeout, (error, socket) => {
      if (error) {
        stats.failed++
        return done(error)
      }
      ctx.owned.add(socket!)
      Stats.started(stats)
      current = Pipe.run(channel, socket!, (moved) => {
        Stats.finished(stats, moved)
        ctx.log(LogLevel.Debug, `closed ${formatHostPort(target.right)}: ${moved.aToB} bytes in, ${moved.bToA} out`)
        done(undefined)
      })
    })
  })
  return () => current()
}

const retryable = (e: Failure) => e._tag === "SocketError" || e.reason === "Closed" || e.reason === "Timeout"

/** Logs how a data channel ended badly: quietly when the session just went away. */
const report = (ctx: DialerContext, e: Failure): void => {
  if (e._tag === "ProtocolError" && (e.reason === "Closed" || e.reason === "UnknownSession")) {
    ctx.log(LogLevel.Debug, `data channel ended: ${e.message}`)
  } else {
    ctx.warn(`data channel: ${e.message}`)
  }
}

/** Serves an open channel to its end, closing it whatever happens. */
const serveToEnd = (ctx: DialerContext, channel: Channel): void => {
  serve(ctx, channel, (error) => {
    channel.destroy()
    if (error) report(ctx, error)
  })
}

/**
 * Starts one data channel of session `sessionId` and runs it to its end. The first attempt is plain
 * callbacks; only a failed one builds a fiber to retry on its Schedule.
 */
export const start = (ctx: DialerContext, sessionId: Buffer): void => {
  open(ctx, sessionId, (error, channel) => {
    if (!error) return serveToEnd(ctx, channel!)
    if (!retryable(error)) return report(ctx, error)
    const opening = toEffect<Channel, Failure>((done) => open(ctx, sessionId, done))
    ctx.fork(
      Effect.retry(opening, { schedule: Schedules.dataDial, while: retryable }).pipe(
        Effect.matchEffect({
          onSuccess: (channel) => Effect.sync(() => serveToEnd(ctx, channel)),
          onFailure: (e) => Effect.sync(() => report(ctx, e))
        })
      )
    )
  })
}
