/**
 * The streams strategy's client half: for the life of each control session, `mux_session` multiplexer
 * sessions to the server (the count and the frame size are the server's, from its Welcome), each joined
 * to the control session like a data channel (one DataHello: session id, a fresh counter, HMAC) and
 * re-opened on the reconnect Schedule when it breaks. Every stream the server opens starts with a
 * `Connect` proven over the mux session's identity and the stream's id; the client dials the target
 * (`forwarder` first) and pipes. A target that refuses resets that stream only.
 *
 * When the control session ends, its mux sessions go away gracefully (GoAway): streams in flight finish.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import { formatHostPort, type HostPort } from "../config/Config.ts"
import type { Conn } from "../net/Conn.ts"
import { toEffect } from "../net/Callback.ts"
import type { Done } from "../net/Callback.ts"
import { deadline } from "../net/Deadline.ts"
import * as Handshake from "../protocol/Handshake.ts"
import { type Frame, ProtocolError } from "../protocol/Protocol.ts"
import type { ClientChannels, ClientContext, ClientSession, Welcome } from "../transport/Channels.ts"
import { keepAlive, Session } from "../transport/mux/Session.ts"
import type { MuxSettings } from "../transport/mux/Settings.ts"
import type { MuxStream } from "../transport/mux/Stream.ts"
import type { TransportError } from "../transport/Transport.ts"
import * as Pipe from "../tunnel/Pipe.ts"
import * as Schedules from "../tunnel/Schedules.ts"
import * as Stats from "../tunnel/Stats.ts"
import { join, Refused, resolveTarget } from "./Dialer.ts"

/**
 * Serves one stream the server opened: its Connect, the target, the pipe. Split in three so that what
 * lives as long as the connection (the pipe's callback) does not hold the Connect frame, whose MAC is a
 * view of the carrier's read buffer: an idle stream would pin that whole buffer.
 */
const serveStream = (ctx: ClientContext, id: Handshake.DataChannelId, stream: MuxStream): void => {
  // a stream whose Connect does not arrive in time is not the server's (nor would it ever be served): it
  // must not keep its mux session open, which may have no pings left once its control session ended
  deadline(
    stream,
    ctx.config.dial_timeout * 1000,
    () => new ProtocolError({ reason: "Timeout", detail: "no Connect in time" }),
    (done: Done<Frame, ProtocolError>) => Handshake.readFrameCb(stream, done)
  )((error, frame) => {
    if (error) return stream.destroy()
    if (frame!._tag !== "Connect" || !Handshake.connectIsGenuine(ctx.config.token, id, stream.id, frame!)) {
      ctx.warn(`mux stream ${stream.id}: not a Connect proven with the token; reset`)
      return stream.destroy()
    }
    const target = resolveTarget(ctx, frame!.port, frame!.target)
    // refused by allowed_targets (logged and counted): this stream is reset, its session goes on
    if (target === Refused) return stream.destroy()
    if (Either.isLeft(target)) {
      ctx.warn(`mux stream ${stream.id}: bad target ${JSON.stringify(frame!.target)}: ${target.left}`)
      return stream.destroy()
    }
    dial(ctx, stream, target.right)
  })
}

const dial = (ctx: ClientContext, stream: MuxStream, target: HostPort): void => {
  const { config } = ctx
  const options = { nodelay: config.nodelay, keepaliveSeconds: config.keepalive_period }
  const cancel = ctx.network.connect(target, options, config.dial_timeout, (error, socket) => {
    stream.offClose(abandon)
    if (error) {
      ctx.stats.failed++
      ctx.warn(`cannot reach ${formatHostPort(target)}: ${error.detail}`)
      return stream.destroy()
    }
    if (stream.closed) return socket!.destroy()
    pipe(ctx, stream, socket!, target)
  })
  // the user went away while the target was being dialed
  const abandon = () => cancel()
  stream.onClose(abandon)
}

const pipe = (ctx: ClientContext, stream: MuxStream, socket: Conn, target: HostPort): void => {
  ctx.owned.add(socket)
  Stats.started(ctx.stats)
  Pipe.run(socket, stream, (outcome) => {
    Stats.finished(ctx.stats, { aToB: outcome.received, bToA: outcome.sent })
    ctx.log(LogLevel.Debug, () => `closed ${formatHostPort(target)}: ${outcome.received} bytes in, ${outcome.sent} out`)
  })
}

/** Opens one mux session of `session` and joins it; resolves once it is running. */
const open = (ctx: ClientContext, session: ClientSession, settings: MuxSettings) =>
  toEffect<Session, TransportError>((done) =>
    join(ctx, session, (error, joined) => {
      if (error) return done(error)
      const { conn, id } = joined!
      done(undefined, new Session(conn, { ...settings, onStream: (s) => serveStream(ctx, id, s) }, false).start())
    })
  )

/** The streams strategy's client half. */
export const make = (ctx: ClientContext, local: MuxSettings): Effect.Effect<ClientChannels> =>
  Effect.succeed({
    openData: () => ctx.log(LogLevel.Debug, "ignored OpenData: this transport opens streams, not data channels"),
    session: (welcome: Welcome) =>
      Effect.gen(function*() {
        const session = ctx.session()
        if (session === undefined) return
        const { config } = ctx
        const count = Math.max(1, welcome.poolSize)
        if (count !== config.mux_session) {
          yield* Effect.logWarning(`server's mux_session is ${count}, this client's is ${config.mux_session}; using the server's`)
        }
        const maxFrame = welcome.maxFrame > 0 ? welcome.maxFrame : local.maxFrame
        if (maxFrame !== config.mux_framesize) {
          yield* Effect.logWarning(`server's mux_framesize is ${maxFrame}, this client's is ${config.mux_framesize}; using the server's`)
        }
        const settings = { ...local, maxFrame: Math.min(maxFrame, 1 << 24) }
        const heartbeatMillis = welcome.heartbeatMs
        // one slot: open, run until it ends, again — retry the connect, repeat the session
        const slot = (n: number) =>
          open(ctx, session, settings).pipe(
            Effect.tapError((e) => Effect.logWarning(`mux session ${n}: cannot open: ${e.message}`)),
            Effect.retry(Schedules.reconnect(`${config.retry_interval} seconds`)),
            Effect.flatMap((mux) => keepAlive(mux, heartbeatMillis)),
            Effect.tap((end) =>
              // the server going away (shutting down, or moving us to a new control session) is routine
              (end.reason === "GoAway" ? Effect.logInfo : Effect.logWarning)(
                `mux session ${n} ended (${end.reason}: ${end.detail}); re-opening`
              )
            ),
            Effect.repeat(Schedules.nextSession(`${config.retry_interval} seconds`)),
            Effect.asVoid
          )
        yield* Effect.forEach(Array.from({ length: count }, (_, i) => i + 1), (n) => Effect.forkScoped(slot(n)), {
          discard: true
        })
      })
  })

