/**
 * The pooled strategy's server half: each user connection takes an idle data channel of the live
 * session (or waits in the queue, giving up its place if the user resets), the server writes the
 * `Connect` on it and pipes through `FramedPipe`; a channel that ended cleanly goes back to the pool.
 *
 * Per-connection path: plain callbacks.
 */
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import type { Conn } from "../net/Conn.ts"
import * as Handshake from "../protocol/Handshake.ts"
import type { ServerChannels, ServerContext } from "../transport/Channels.ts"
import * as FramedPipe from "../tunnel/FramedPipe.ts"
import * as Stats from "../tunnel/Stats.ts"
import { type DataChannel, DataPool, SURPLUS_IDLE_MILLIS } from "./DataPool.ts"
import type { UserPort } from "./UserPorts.ts"
import { holdUser, Waiters } from "./Waiters.ts"

/** Builds the server half for one server. */
export const make = (ctx: ServerContext): Effect.Effect<ServerChannels> =>
  Effect.sync(() => {
    const { config, stats, log, warn } = ctx
    const waiters = new Waiters<DataChannel>({ channelSize: config.channel_size, waitMillis: ctx.userWaitMillis })
    const pool = new DataPool(ctx.sessions, waiters, config.connection_pool)
    const heartbeatMillis = config.heartbeat * 1000

    const through = (socket: Conn, port: UserPort, channel: DataChannel): void => {
      channel.uses++
      Handshake.sendFrame(channel.conn, Handshake.connectFrame(config.token, channel.id, channel.uses, port.port, port.target))
      Stats.started(stats)
      FramedPipe.run(socket, channel.conn, (outcome) => {
        Stats.finished(stats, { aToB: outcome.sent, bToA: outcome.received })
        pool.release(channel, outcome.reusable)
        log(LogLevel.Debug, () => `port ${port.port}: closed, ${outcome.sent} bytes up, ${outcome.received} down`)
      })
    }
    const report = { stats, warn, waiting: () => waiters.size, what: "tunnel data channel" }

    return {
      welcome: { poolSize: config.connection_pool, maxFrame: 0 },
      admit: (sessionId, channel, id) => pool.offer(sessionId, { conn: channel, id, uses: 0 }),
      serve: (socket, port) => {
        const idle = pool.tryTake()
        if (idle) through(socket, port, idle)
        else holdUser<DataChannel>(socket, port.port, (done) => pool.wait(done), (channel) => through(socket, port, channel), report)
      },
      tick: () => {
        pool.heal(heartbeatMillis * 2)
        pool.shrink(SURPLUS_IDLE_MILLIS)
      },
      shutdown: () => {},
      readyCount: () => pool.readyCount,
      waiting: () => waiters.size
    }
  })
