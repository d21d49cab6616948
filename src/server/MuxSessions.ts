/**
 * The streams strategy's server half: the multiplexer sessions the live client keeps open
 * (`mux_session` of them), and a new stream on the least loaded one for every user connection — its
 * first frame the `Connect`, proven with the token over the session's id and the stream's id, then the
 * user's bytes with no framing of ours on top of the multiplexer's. While the client has no session up
 * (it is reconnecting), user connections wait, bounded like the pooled ones.
 *
 * Mux sessions belong to the control session they joined (several clients may be live at once; a new
 * stream goes to the least loaded mux session of any of them): when that control session ends or is
 * replaced they go away gracefully (GoAway: no new streams, live ones finish); when it is declared dead
 * they are reset (see `Sessions`).
 *
 * Per-connection path: plain callbacks; one fiber per session for its pings.
 */
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import type { Conn } from "../net/Conn.ts"
import * as Handshake from "../protocol/Handshake.ts"
import type { ServerChannels, ServerContext } from "../transport/Channels.ts"
import * as Frame from "../transport/mux/Frame.ts"
import { keepAlive, Session } from "../transport/mux/Session.ts"
import type { MuxSettings } from "../transport/mux/Settings.ts"
import * as Pipe from "../tunnel/Pipe.ts"
import * as Stats from "../tunnel/Stats.ts"
import type { UserPort } from "./UserPorts.ts"
import { holdUser, Waiters } from "./Waiters.ts"

/** A mux session and the data-channel identity it joined with (what its Connects are proven over). */
interface Joined {
  readonly session: Session
  readonly id: Handshake.DataChannelId
  /** the control session it joined */
  readonly owner: string
}

/** Builds the server half for one server. */
export const make = (ctx: ServerContext, settings: MuxSettings): Effect.Effect<ServerChannels> =>
  Effect.sync(() => {
    const { config, stats, log, warn } = ctx
    const heartbeatMillis = config.heartbeat * 1000
    const waiters = new Waiters<Joined>({ channelSize: config.channel_size, waitMillis: ctx.userWaitMillis })
    let live: Array<Joined> = []

    /** the least loaded session that takes new streams */
    const pick = (): Joined | undefined => {
      let best: Joined | undefined
      for (const j of live) {
        if (j.session.draining || j.session.ended !== undefined) continue
        if (best === undefined || j.session.load < best.session.load) best = j
      }
      return best
    }

    /** the mux sessions of control session `owner` (all when undefined) take no new streams; live ones finish */
    const drain = (owner?: string) => {
      const old = live
      live = owner === undefined ? [] : live.filter((j) => j.owner !== owner)
      for (const j of old) if (owner === undefined || j.owner === owner) j.session.goAway(Frame.GoAway.Normal)
    }
    // a session declared dead has its carrier connections reset by `Sessions`; one that ended otherwise
    // lets its streams finish
    ctx.sessions.watch({ installed: () => {}, uninstalled: (session) => drain(session.id) })

    const through = (user: Conn, port: UserPort, joined: Joined): void => {
      const stream = joined.session.open()
      if (stream === undefined) return serve(user, port) // it just went away: another, or wait
      Handshake.sendFrame(stream, Handshake.connectFrame(config.token, joined.id, stream.id, port.port, port.target))
      Stats.started(stats)
      Pipe.run(user, stream, (outcome) => {
        Stats.finished(stats, { aToB: outcome.sent, bToA: outcome.received })
        log(LogLevel.Debug, () => `port ${port.port}: closed, ${outcome.sent} bytes up, ${outcome.received} down`)
      })
    }
    const report = { stats, warn, waiting: () => waiters.size, what: "tunnel session" }
    const serve = (user: Conn, port: UserPort): void => {
      const joined = pick()
      if (joined !== undefined) through(user, port, joined)
      else holdUser<Joined>(user, port.port, (done) => waiters.wait(done), (j) => through(user, port, j), report)
    }

    const admit = (owner: string, channel: Conn, id: Handshake.DataChannelId): boolean => {
      if (!ctx.sessions.isLive(owner)) return false
      const session = new Session(channel, settings, true)
      const joined: Joined = { session, id, owner }
      live.push(joined)
      // asked now: once the carrier has closed, Bun no longer knows its peer (logs read `?:0`)
      const from = channel.remote
      session.onClose((end) => {
        live = live.filter((j) => j !== joined)
        // a broken session is worth a warning; one the client closed or replaced is not
        const level = end.reason === "Protocol" || end.reason === "Timeout" ? LogLevel.Warning : LogLevel.Debug
        log(level, `mux session from ${from} ended: ${end.reason}: ${end.detail}`)
      })
      session.start()
      ctx.fork(Effect.asVoid(keepAlive(session, heartbeatMillis)))
      // users who waited for the client to come back go first
      while (waiters.size > 0 && session.ended === undefined) waiters.offer(pick() ?? joined)
      return true
    }

    return {
      welcome: { poolSize: config.mux_session, maxFrame: settings.maxFrame },
      admit,
      serve,
      tick: () => {},
      shutdown: () => drain(),
      readyCount: () => live.length,
      waiting: () => waiters.size
    }
  })
