/**
 * User connections waiting for a way through the tunnel (a pooled data channel, or a mux session while
 * the client reconnects): a queue bounded by `channel_size` entries and `waitMillis` each. What they wait
 * for is the strategy's; this only queues, hands out in arrival order, and times out.
 */
import * as Schema from "effect/Schema"
import type { Cancel, Done } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import type { Stats } from "../tunnel/Stats.ts"

/** Why a user connection got no way through. */
export class WaitError extends Schema.TaggedError<WaitError>()("WaitError", {
  reason: Schema.Literal("Full", "Timeout")
}) {}

/** Bounds of the queue. */
export interface WaitersOptions {
  /** most user connections waiting at once */
  readonly channelSize: number
  /** how long one may wait */
  readonly waitMillis: number
}

const noop = () => {}

export class Waiters<T> {
  private readonly queue = new Set<(value: T) => void>()

  constructor(private readonly options: WaitersOptions) {}

  /** how many are waiting */
  get size(): number {
    return this.queue.size
  }

  /** Queues one waiter; calls back with a value or why there is none. Cancelling gives up the place. */
  wait(done: Done<T, WaitError>): Cancel {
    if (this.queue.size >= this.options.channelSize) {
      done(new WaitError({ reason: "Full" }))
      return noop
    }
    const waiter = (value: T) => {
      clearTimeout(timer)
      done(undefined, value)
    }
    const timer = setTimeout(() => {
      this.queue.delete(waiter)
      done(new WaitError({ reason: "Timeout" }))
    }, this.options.waitMillis)
    this.queue.add(waiter)
    return () => {
      clearTimeout(timer)
      this.queue.delete(waiter)
    }
  }

  /** Gives `value` to the longest-waiting one; false if nobody waits. */
  offer(value: T): boolean {
    const first = this.queue.values().next()
    if (first.done) return false
    this.queue.delete(first.value)
    first.value(value)
    return true
  }
}

/**
 * Holds one user connection in a queue (`wait`) until it is `served`; a user who resets meanwhile gives
 * up its place. When no way through comes, the user is closed, counted and logged (at a rate limit).
 */
export const holdUser = <T>(
  user: Conn,
  port: number,
  wait: (done: Done<T, WaitError>) => Cancel,
  served: (value: T) => void,
  report: { readonly stats: Stats; readonly warn: (message: string) => void; readonly waiting: () => number; readonly what: string }
): void => {
  const gone = () => cancel()
  user.onClose(gone)
  const cancel = wait((error, value) => {
    user.offClose(gone)
    if (!error) return served(value!)
    user.destroy()
    if (error.reason === "Full") {
      report.stats.refused++
      return report.warn(`port ${port}: refused a connection, ${report.waiting()} already waiting (channel_size)`)
    }
    report.stats.failed++
    report.warn(`port ${port}: no ${report.what} became ready in time; closed the connection`)
  })
}
