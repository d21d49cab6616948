/**
 * The server's meeting point between user connections and data channels of the live client session.
 *
 * It owns three things: which session is live (one at a time; a newer authenticated client replaces an
 * older one), the idle data channels that session keeps ready, and the user connections waiting for one.
 * A data channel carries one user connection after another: when a connection ends cleanly, its channel
 * comes back (`release`). Demand is driven from here: whenever the channels ready or asked for fall below
 * half the pool size plus the users waiting, the server asks the client (`OpenData`) for enough to make
 * the full pool size plus the waiting users again. So a steady stream of short connections settles on
 * about as many channels as are in use at once plus the pool, and asks for nothing more; long-lived
 * connections keep their channels and the pool is refilled beside them. Channels coming back are kept,
 * and the most recently used is handed out first; so after a burst the surplus beyond the pool size sits
 * at the far end and is closed once it has been idle for `SURPLUS_IDLE_MILLIS` (`shrink`). Closing
 * surplus sooner costs more than it saves: the next burst must then open every channel again (a TCP
 * set-up and a handshake each, on both sides).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Conn } from "../net/Conn.ts"
import type { Channel } from "../transport/Transport.ts"
import type { DataChannelId } from "../protocol/Handshake.ts"
import * as ReplayWindow from "./ReplayWindow.ts"
import type { Frame } from "../protocol/Protocol.ts"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"

/** Why a user connection got no data channel. */
export class HubError extends Schema.TaggedError<HubError>()("HubError", {
  reason: Schema.Literal("Full", "Timeout")
}) {}

/** The hub's view of a live control session. */
export interface LiveSession {
  readonly id: string
  readonly send: (frame: Frame) => void
  /** ends the session (it was replaced); the control session's own fiber then cleans up */
  readonly close: (reason: string) => void
}

/** Settings that bound the hub. */
export interface HubOptions {
  readonly poolSize: number
  /** most user connections waiting for a data channel at once */
  readonly channelSize: number
  /** how long a user connection waits for a data channel */
  readonly waitMillis: number
}

/** An admitted data channel and what identifies it (its Connects are proven over that). */
export interface DataChannel {
  readonly conn: Channel
  readonly id: DataChannelId
  /** connections it has carried so far (the next Connect is use `uses + 1`) */
  uses: number
  /** when it last became idle in the pool (ms since the epoch); set by the hub */
  idleSince?: number
}

/** How long a channel beyond the pool size may sit idle before `shrink` closes it. */
export const SURPLUS_IDLE_MILLIS = 30_000

type Waiter = (channel: DataChannel) => void

const noop = () => {}

/** Creates the hub for one server. */
export const make = (options: HubOptions) => new Hub(options)

export class Hub {
  private live: LiveSession | undefined
  private liveId: Buffer | undefined
  private ready: Array<DataChannel> = []
  private replays = ReplayWindow.make()
  private readonly waiters = new Set<Waiter>()
  private requested = 0
  private lastArrival = 0

  constructor(private readonly options: HubOptions) {}

  /** The live session's id, if any. */
  get sessionId(): string | undefined {
    return this.live?.id
  }

  /** Number of idle data channels ready now. */
  get readyCount(): number {
    return this.ready.length
  }

  /** Number of user connections waiting for a data channel. */
  get waiting(): number {
    return this.waiters.size
  }

  /** Whether `id` names the live session. */
  isLive(id: string): boolean {
    return this.live !== undefined && this.live.id === id
  }

  /** Makes `session` the live one, closing any previous session and its idle channels. */
  install(session: LiveSession): void {
    const previous = this.live
    this.live = session
    this.liveId = Buffer.from(session.id, "hex")
    this.replays = ReplayWindow.make()
    this.dropIdle()
    if (previous) previous.close("replaced by a newer client session")
    this.lastArrival = Date.now()
    this.demand()
  }

  /** Forgets `id` if it is still the live session. */
  uninstall(id: string): void {
    if (this.live?.id !== id) return
    this.live = undefined
    this.liveId = undefined
    this.dropIdle()
  }

  /** Whether a data channel may join: its session is live and its counter is new. */
  admit(id: DataChannelId): "ok" | "unknown" | "replayed" {
    if (this.liveId === undefined || !this.liveId.equals(id.sessionId)) return "unknown"
    return this.replays.admit(id.counter) ? "ok" : "replayed"
  }

  /** Takes in a freshly authenticated data channel of session `id`; false if that session is gone. */
  offer(id: string, channel: DataChannel): boolean {
    if (!this.isLive(id)) return false
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
    if (reusable && this.liveId?.equals(channel.id.sessionId) && !channel.conn.closed) {
      this.store(channel)
    } else {
      channel.conn.destroy()
    }
    this.demand()
  }

  /** Gives `channel` to the first waiting user, or keeps it ready. */
  private store(channel: DataChannel): void {
    const waiter = this.waiters.values().next()
    if (!waiter.done) {
      this.waiters.delete(waiter.value)
      waiter.value(channel)
    } else {
      channel.idleSince = Date.now()
      this.ready.push(channel)
      channel.conn.onClose(this.forgetIdle)
    }
  }

  /**
   * Called on every heartbeat tick: closes the channels beyond the pool size that have been idle for
   * longer than `idleMillis` (the least recently used first), so the pool shrinks back after a burst.
   */
  shrink(idleMillis: number): void {
    const cutoff = Date.now() - idleMillis
    while (this.ready.length > this.options.poolSize && (this.ready[0]!.idleSince ?? 0) < cutoff) {
      const channel = this.ready.shift()!
      channel.conn.offClose(this.forgetIdle)
      channel.conn.destroy()
    }
  }

  /**
   * Waits for a data channel for one user connection (after `tryTake` found none), bounded by
   * `channelSize` waiters and `waitMillis`. Calls back with the channel or why there is none; cancelling
   * gives up the place in the queue.
   */
  wait(done: Done<DataChannel, HubError>): Cancel {
    if (this.waiters.size >= this.options.channelSize) {
      done(new HubError({ reason: "Full" }))
      return noop
    }
    const waiter: Waiter = (channel) => {
      clearTimeout(timer)
      done(undefined, channel)
    }
    const timer = setTimeout(() => {
      this.waiters.delete(waiter)
      done(new HubError({ reason: "Timeout" }))
    }, this.options.waitMillis)
    this.waiters.add(waiter)
    this.demand()
    return () => {
      clearTimeout(timer)
      this.waiters.delete(waiter)
    }
  }

  /** A data channel for one user connection as an Effect: an idle one at once, else `wait`. */
  take(): Effect.Effect<DataChannel, HubError> {
    return Effect.suspend(() => {
      const idle = this.tryTake()
      return idle ? Effect.succeed(idle) : toEffect<DataChannel, HubError>((done) => this.wait(done))
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
    if (!this.live) return
    const have = this.ready.length + this.requested
    const waiting = this.waiters.size
    if (have >= Math.ceil(this.options.poolSize / 2) + waiting) return
    const want = this.options.poolSize + waiting - have
    if (want > 0) {
      this.requested += want
      this.live.send({ _tag: "OpenData", count: want })
    }
  }
}
