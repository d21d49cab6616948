/**
 * The pooled strategy's client half, one data channel at a time: open it, join it to the session, wait (idle, in the server's pool)
 * for the server's `Connect`, dial the target — the `forwarder` override for that server port, else the
 * server's choice — and pipe. A target that refuses fails this one connection only.
 *
 * Per-connection path: the steps are callbacks inside two Effects (open, serve), see `net/Callback.ts`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { formatHostPort, type HostPort } from "../config/Config.ts"
import { parseHostPort } from "../config/PortMapping.ts"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import * as LogLevel from "effect/LogLevel"
import type { SocketError } from "../net/Network.ts"
import * as Handshake from "../protocol/Handshake.ts"
import { ProtocolError } from "../protocol/Protocol.ts"
import type { ClientChannels, ClientContext, ClientSession } from "../transport/Channels.ts"
import type { Channel, TransportError } from "../transport/Transport.ts"
import * as FramedPipe from "../tunnel/FramedPipe.ts"
import * as Schedules from "../tunnel/Schedules.ts"
import * as Stats from "../tunnel/Stats.ts"
import * as TargetPolicy from "./TargetPolicy.ts"

/** What `resolveTarget` returns for a target `allowed_targets` refuses: already logged and counted. */
export const Refused: unique symbol = Symbol("backhaul/Refused")

/**
 * Where a Connect for `port` should go: the `forwarder` override for that port (the client's own
 * choice, not checked), else the server's target if `allowed_targets` allows it. A refusal is counted
 * and logged by `TargetPolicy`; the caller resets that one connection.
 */
export const resolveTarget = (
  ctx: ClientContext,
  port: number,
  serverTarget: string
): Either.Either<HostPort, string> | typeof Refused => {
  const override = ctx.config.forwarder.get(port)
  if (override) return Either.right(override)
  const target = parseTarget(ctx.parsedTargets, serverTarget)
  return Either.isRight(target) && !TargetPolicy.admits(ctx, target.right, port) ? Refused : target
}

// A server names the same few targets over and over: each client parses each once.
const parseTarget = (parsedTargets: ClientContext["parsedTargets"], text: string): Either.Either<HostPort, string> => {
  let parsed = parsedTargets.get(text)
  if (parsed === undefined) {
    parsed = parseHostPort(text)
    if (parsedTargets.size >= 4096) parsedTargets.clear()
    parsedTargets.set(text, parsed)
  }
  return parsed
}

type Failure = SocketError | TransportError | ProtocolError

/** A data channel of a session, open and announced, waiting for its next Connect. */
interface Opened {
  readonly conn: Channel
  readonly id: Handshake.DataChannelId
  /** connections it has carried so far */
  uses: number
}

/**
 * Opens a carrier connection and announces it as the next data channel of `session` (one message, no
 * reply): a pooled data channel, or a mux session's connection.
 */
export const join = (
  ctx: ClientContext,
  session: ClientSession,
  done: Done<{ readonly conn: Channel; readonly id: Handshake.DataChannelId }, TransportError>
): Cancel =>
  ctx.carrier.open(ctx.config.remote_addr, (error, conn) => {
    if (error) return done(error)
    ctx.owned.add(conn!)
    session.joined.add(conn!)
    conn!.onClose(session.forget)
    ctx.stats.channels++
    const id = { sessionId: session.id, counter: ++session.counter }
    Handshake.dataHello(conn!, ctx.config.token, ctx.transport, id)
    done(undefined, { conn: conn!, id })
  })

const open = (ctx: ClientContext, session: ClientSession, done: Done<Opened, Failure>): Cancel =>
  join(ctx, session, (error, joined) => (error ? done(error) : done(undefined, { ...joined!, uses: 0 })))

/**
 * Waits for the server's next Connect on an open channel, dials the target and pipes until the connection
 * is over; calls back with whether the channel can carry another one.
 */
const serveOne = (ctx: ClientContext, session: ClientSession, channel: Opened, done: Done<boolean, Failure>): Cancel => {
  const { config, stats } = ctx
  session.waiting.add(channel.conn)
  let current = Handshake.readFrameCb(channel.conn, (error, frame) => {
    session.idle-- // no longer waiting, whatever came
    session.waiting.delete(channel.conn)
    if (error) return done(error)
    if (frame!._tag !== "Connect") {
      return done(new ProtocolError({ reason: "Malformed", detail: `expected Connect, got ${frame!._tag}` }))
    }
    if (!Handshake.connectIsGenuine(config.token, channel.id, channel.uses + 1, frame!)) {
      return done(new ProtocolError({ reason: "AuthFailed", detail: "a Connect not proven with the token: not our server" }))
    }
    channel.uses++
    const { port, target: asked } = frame!
    const target = resolveTarget(ctx, port, asked)
    // refused by allowed_targets (logged and counted): the channel's failure path resets the user
    if (target === Refused) return done(undefined, false)
    if (Either.isLeft(target)) {
      return done(new ProtocolError({ reason: "Malformed", detail: `bad target ${JSON.stringify(asked)}: ${target.left}` }))
    }
    const options = { nodelay: config.nodelay, keepaliveSeconds: config.keepalive_period }
    current = ctx.network.connect(target.right, options, config.dial_timeout, (error, socket) => {
      if (error) {
        stats.failed++
        return done(error)
      }
      ctx.owned.add(socket!)
      Stats.started(stats)
      current = FramedPipe.run(socket!, channel.conn, (outcome) => {
        Stats.finished(stats, { aToB: outcome.received, bToA: outcome.sent })
        ctx.log(LogLevel.Debug, () =>
          `closed ${formatHostPort(target.right)}: ${outcome.received} bytes in, ${outcome.sent} out`)
        done(undefined, outcome.reusable)
      })
    })
  })
  return () => current()
}

const retryable = (e: Failure) =>
  e._tag === "SocketError" || e._tag === "TransportError" || e.reason === "Closed" || e.reason === "Timeout"

/** Logs how a data channel ended badly: quietly when the session just went away. */
const report = (ctx: ClientContext, e: Failure): void => {
  if (e._tag === "ProtocolError" && (e.reason === "Closed" || e.reason === "UnknownSession")) {
    ctx.log(LogLevel.Debug, `data channel ended: ${e.message}`)
  } else {
    ctx.warn(`data channel: ${e.message}`)
  }
}

/**
 * Serves an open channel, one connection after another, to its end; closes it whatever happens. The
 * channel is counted idle (`session.idle`) from its opening until each Connect, and again between uses.
 */
const serveToEnd = (ctx: ClientContext, session: ClientSession, channel: Opened): void => {
  // opened after its session ended (its idle channels are closed by then): nothing will use it
  if (ctx.session() !== session) {
    session.idle--
    return channel.conn.destroy()
  }
  const next = () =>
    serveOne(ctx, session, channel, (error, reusable) => {
      if (reusable === true) {
        session.idle++
        return next()
      }
      channel.conn.destroy()
      if (error) report(ctx, error)
    })
  next()
}

/** Most data channels a client keeps opening or idle at once: a server asking for more is not obeyed. */
export const MAX_IDLE_CHANNELS = 1024

/**
 * Starts one data channel of the live session and runs it to its end. The first attempt is plain
 * callbacks; only a failed one builds a fiber to retry on its Schedule.
 */
export const start = (ctx: ClientContext, session: ClientSession): void => {
  session.idle++
  open(ctx, session, (error, channel) => {
    if (!error) return serveToEnd(ctx, session, channel!)
    if (!retryable(error)) {
      session.idle--
      return report(ctx, error)
    }
    const opening = toEffect<Opened, Failure>((done) => open(ctx, session, done))
    ctx.fork(
      Effect.retry(opening, { schedule: Schedules.dataDial, while: retryable }).pipe(
        Effect.matchEffect({
          onSuccess: (channel) => Effect.sync(() => serveToEnd(ctx, session, channel)),
          onFailure: (e) =>
            Effect.sync(() => {
              session.idle--
              report(ctx, e)
            })
        })
      )
    )
  })
}

/** The pooled strategy's client half: a data channel per channel the server asks for. */
export const make = (ctx: ClientContext): Effect.Effect<ClientChannels> =>
  Effect.succeed({
    openData: (count) => {
      const session = ctx.session()
      if (session === undefined) return
      const room = Math.max(0, MAX_IDLE_CHANNELS - session.idle)
      if (count > room) {
        ctx.warn(
          `server asked for ${count} more data channels with ${session.idle} opening or idle; ` +
            `a client keeps at most ${MAX_IDLE_CHANNELS}: opening ${room}`
        )
      }
      for (let i = 0, n = Math.min(count, room); i < n; i++) start(ctx, session)
    },
    session: () => Effect.void
  })
