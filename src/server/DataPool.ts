/**
 * The pooled channel strategy's server half: the idle data channels the live session keeps ready, and
 * the demand for more. A data channel carries one user connection after another: when a connection ends
 * cleanly, its channel comes back (`release`). Demand is driven from here: whenever the channels ready or
 * asked for fall below half the pool size plus the users waiting, the server asks the client
 * (`OpenData`) for enough to make the full pool size plus the waiting users again. So a steady stream of
 * short connections settles on about as many channels as are in use at once plus the pool, and asks for
 * nothing more; long-lived connections keep their channels and the pool is refilled beside them.
 * Channels coming back are kept, and the most recently used is handed out first; so after a burst the
 * surplus beyond the pool size sits at the far end and is closed once it has been idle for
 * `SURPLUS_IDLE_MILLIS` (`shrink`). Closing surplus sooner costs more than it saves: the next burst must
 * then open every channel again (a TCP set-up and a handshake each, on both sides).
 *
 * Which session is live is `Sessions`' concern, and the queue of waiting users `Waiters`'.
 */
import * as Effect from "effect/Effect"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import type { DataChannelId } from "../protocol/Handshake.ts"
import type { Channel } from "../transport/Transport.ts"
import type { LiveSession, SessionWatcher, Sessions } from "./Sessions.ts"
import type { WaitError, Waiters } from "./Waiters.ts"

/** An admitted data channel and what identifies it (its Connects are proven over that). */
export interface DataChannel {
  readonly conn: Channel
  readonly id: DataChannelId
  /** connections it has carried so far (the next Connect is use `uses + 1`) */
  uses: number
  /** when it last became idle in the pool (ms since the epoch); set by the pool */
  idleSince?: number
}

/** How long a channel beyond the pool size may sit idle before `shrink` closes it. */
export const SURPLUS_IDLE_MILLIS = 30_000

export class DataPool implements SessionWatcher {
  private ready: Array<DataChannel> = []
  private requested = 0
  private lastArrival = 0

  constructor(
    private readonly sessions: Sessions,
    private readonly waiters: Waiters<DataChannel>,
    private readonly poolSize: number
  ) {
    sessions.watch(this)
  }

  /** Number of idle data channels ready now. */
  get readyCount(): number {
    return this.ready.length
  }

  installed(_session: LiveSession): void {
    this.dropIdle()
    this.lastArrival = Date.now()
    this.demand()
  }

  uninstalled(): void {
    this.dropIdle()
  }

  /** Takes in a freshly authenticated data channel of session `id`; false if that session is gone. */
  offer(id: string, channel: DataChannel): boolean {
    if (!this.sessions.isLive(id)) return false
    this.requested = Math.max(0, this.requested - 1)
    this.lastArrival = Date.now()
    this.store(channel)
    this.demand()
    return true
  }

  /**
   * A user connection on `channel` is over: a channel that ended cleanly and still belongs to the live
   * session is ready again; any other is closed.
   */
  release(channel: DataChannel, reusable: boolean): void {
    if (reusable && this.sessions.isLiveId(channel.id.sessionId) && !channel.conn.closed) {
      this.store(channel)
    } else {
      channel.conn.destroy()
    }
    this.demand()
  }

  /** Gives `channel` to the first waiting user, or keeps it ready. */
  private store(channel: DataChannel): void {
    if (this.waiters.offer(channel)) return
    channel.idleSince = Date.now()
    this.ready.push(channel)
    channel.conn.onClose(this.forgetIdle)
  }

  /**
   * Called on every heartbeat tick: closes the channels beyond the pool size that have been idle for
   * longer than `idleMillis` (the least recently used first), so the pool shrinks back after a burst.
   */
  shrink(idleMillis: number): void {
    const cutoff = Date.now() - idleMillis
    while (this.ready.length > this.poolSize && (this.ready[0]!.idleSince ?? 0) < cutoff) {
      const channel = this.ready.shift()!
      channel.conn.offClose(this.forgetIdle)
      channel.conn.destroy()
    }
  }

  /**
   * Waits for a data channel for one user connection (after `tryTake` found none), bounded by the
   * waiters' limits. Calls back with the channel or why there is none; cancelling gives up the place.
   */
  wait(done: Done<DataChannel, WaitError>): Cancel {
    const cancel = this.waiters.wait(done)
    this.demand()
    return cancel
  }

  /** A data channel for one user connection as an Effect: an idle one at once, else `wait`. */
  take(): Effect.Effect<DataChannel, WaitError> {
    return Effect.suspend(() => {
      const idle = this.tryTake()
      return idle ? Effect.succeed(idle) : toEffect<DataChannel, WaitError>((done) => this.wait(done))
    })
  }

  /** An idle data channel if one is ready now (the common case: no fiber, no timer). */
  tryTake(): DataChannel | undefined {
    const idle = this.popIdle()
    if (idle) this.demand()
    return idle
  }

  /**
   * Called on every heartbeat tick: if asked-for channels never arrived (a client-side dial failed),
   * forget them and ask again, so the pool cannot shrink for good.
   */
  heal(staleMillis: number): void {
    if (this.requested > 0 && Date.now() - this.lastArrival > staleMillis) {
      this.requested = 0
      this.lastArrival = Date.now()
      this.demand()
    }
  }

  /** the most recently used idle channel: the least used ones age at the far end, for `shrink` */
  private popIdle(): DataChannel | undefined {
    let channel = this.ready.pop()
    while (channel && (channel.conn.closed || channel.conn.readEnded)) channel = this.ready.pop()
    channel?.conn.offClose(this.forgetIdle)
    return channel
  }

  /** An idle channel closed: it leaves the pool (one function for all, no closure per channel). */
  private readonly forgetIdle = (conn: Conn): void => {
    const i = this.ready.findIndex((c) => c.conn === conn)
    if (i >= 0) this.ready.splice(i, 1)
  }

  private dropIdle(): void {
    const idle = this.ready
    this.ready = []
    this.requested = 0
    for (const c of idle) c.conn.destroy()
  }

  private demand(): void {
    const live = this.sessions.live
    if (!live) return
    const have = this.ready.length + this.requested
    const waiting = this.waiters.size
    if (have >= Math.ceil(this.poolSize / 2) + waiting) return
    const want = this.poolSize + waiting - have
    if (want > 0) {
      this.requested += want
      live.send({ _tag: "OpenData", count: want })
    }
  }
}
