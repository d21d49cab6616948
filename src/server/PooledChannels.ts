/**
 * The pooled strategy's server half: each user connection takes an idle data channel of the least busy
 * live session (or waits in the queue, giving up its place if the user resets), the server writes the
 * `Connect` on it and pipes through `FramedPipe`; a channel that ended cleanly goes back to its pool.
 * One `DataPool` per live client session; the waiting users are shared.
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
    const pools = new Map<string, DataPool>()
    const sharing = () => pools.size
    const heartbeatMillis = config.heartbeat * 1000
    ctx.sessions.watch({
      installed: (session) => pools.set(session.id, new DataPool(session, waiters, config.connection_pool, sharing)),
      uninstalled: (session) => {
        pools.get(session.id)?.close()
        pools.delete(session.id)
      }
    })

    /** an idle channel of the least busy session that has one (one session: no choice to make) */
    const tryTake = (): DataChannel | undefined => {
      if (pools.size === 1) return pools.values().next().value!.tryTake()
      let best: DataPool | undefined
      for (const pool of pools.values()) {
        if (pool.readyCount > 0 && (best === undefined || pool.busy < best.busy)) best = pool
      }
      return best?.tryTake() ?? (best === undefined ? undefined : tryTake())
    }

    const through = (socket: Conn, port: UserPort, channel: DataChannel): void => {
      channel.uses++
      Handshake.sendFrame(channel.conn, Handshake.connectFrame(config.token, channel.id, channel.uses, port.port, port.target))
      Stats.started(stats)
      FramedPipe.run(socket, channel.conn, (outcome) => {
        Stats.finished(stats, { aToB: outcome.sent, bToA: outcome.received })
        channel.pool.release(channel, outcome.reusable)
        log(LogLevel.Debug, () => `port ${port.port}: closed, ${outcome.sent} bytes up, ${outcome.received} down`)
      })
    }
    const report = { stats, warn, waiting: () => waiters.size, what: "tunnel data channel" }
    const wait = (done: Parameters<Waiters<DataChannel>["wait"]>[0]) => {
      const cancel = waiters.wait(done)
      for (const pool of pools.values()) pool.demand()
      return cancel
    }

    return {
      welcome: { poolSize: config.connection_pool, maxFrame: 0 },
      admit: (sessionId, channel, id) => {
        const pool = pools.get(sessionId)
        return pool !== undefined && pool.offer({ conn: channel, id, pool, uses: 0 })
      },
      serve: (socket, port) => {
        const idle = tryTake()
        if (idle) through(socket, port, idle)
        else holdUser<DataChannel>(socket, port.port, wait, (channel) => through(socket, port, channel), report)
      },
      tick: () => {
        for (const pool of pools.values()) {
          pool.heal(heartbeatMillis * 2)
          pool.shrink(SURPLUS_IDLE_MILLIS)
        }
      },
      shutdown: () => {},
      readyCount: () => {
        let n = 0
        for (const pool of pools.values()) n += pool.readyCount
        return n
      },
      waiting: () => waiters.size
    }
  })
