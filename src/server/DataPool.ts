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
 * There is one pool per live client session; the queue of waiting users (`Waiters`) is shared by all,
 * so a channel of any client serves the user who waited longest.
 */
import * as Effect from "effect/Effect"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import type { DataChannelId } from "../protocol/Handshake.ts"
import type { Channel } from "../transport/Transport.ts"
import type { LiveSession } from "./Sessions.ts"
import type { WaitError, Waiters } from "./Waiters.ts"

/** An admitted data channel and what identifies it (its Connects are proven over that). */
export interface DataChannel {
  readonly conn: Channel
  readonly id: DataChannelId
  /** the pool of the session it joined */
  readonly pool: DataPool
  /** connections it has carried so far (the next Connect is use `uses + 1`) */
  uses: number
  /** when it last became idle in the pool (ms since the epoch); set by the pool */
  idleSince?: number
}

/** How long a channel beyond the pool size may sit idle before `shrink` closes it. */
export const SURPLUS_IDLE_MILLIS = 30_000

export class DataPool {
  private ready: Array<DataChannel> = []
  private requested = 0
  private lastArrival = Date.now()
  private open = true
  /** user connections carried by this session's channels now: the least busy session serves next */
  busy = 0

  constructor(
    readonly session: LiveSession,
    private readonly waiters: Waiters<DataChannel>,
    private readonly poolSize: number,
    /** how many sessions share the waiting users (each asks for its share of them) */
    private readonly sharing: () => number = () => 1
  ) {
    this.demand()
  }

  /** Number of idle data channels ready now. */
  get readyCount(): number {
    return this.ready.length
  }

  /** The session is over: idle channels are closed, busy ones finish and are then closed. */
  close(): void {
    this.open = false
    this.dropIdle()
  }

  /** Takes in a freshly authenticated data channel of this session; false once the session is over. */
  offer(channel: DataChannel): boolean {
    if (!this.open) return false
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
    this.busy--
    if (reusable && this.open && !channel.conn.closed) {
      this.store(channel)
    } else {
      channel.conn.destroy()
    }
    this.demand()
  }

  /** Gives `channel` to the first waiting user, or keeps it ready. */
  private store(channel: DataChannel): void {
    if (this.waiters.offer(channel)) {
      this.busy++
      return
    }
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
    if (idle) {
      this.busy++
      this.demand()
    }
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

  /**
   * An idle channel closed: it leaves the pool (one function for all, no closure per channel), and the
   * pool asks for more if that left it short (a network cut takes every idle channel at once, with no
   * user arriving to trigger `demand`).
   */
  private readonly forgetIdle = (conn: Conn): void => {
    const i = this.ready.findIndex((c) => c.conn === conn)
    if (i < 0) return
    this.ready.splice(i, 1)
    this.demand()
  }

  private dropIdle(): void {
    const idle = this.ready
    this.ready = []
    this.requested = 0
    for (const c of idle) c.conn.destroy()
  }

  /** Asks the client for channels if fewer than half the pool (plus this pool's share of waiting users) are ready or coming. */
  demand(): void {
    if (!this.open) return
    const have = this.ready.length + this.requested
    const waiting = Math.ceil(this.waiters.size / Math.max(1, this.sharing()))
    if (have >= Math.ceil(this.poolSize / 2) + waiting) return
    const want = this.poolSize + waiting - have
    if (want > 0) {
      this.requested += want
      this.session.send({ _tag: "OpenData", count: want })
    }
  }
}
