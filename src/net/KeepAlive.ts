/**
 * TCP keep-alive, set on connections that live long enough to need it. Keep-alive only acts after
 * `keepalive_period` seconds of silence, yet turning it on costs four system calls per socket — on a
 * virtual machine, a real share of a short connection's cost. So new connections wait here for up to
 * `DELAY_MILLIS`, and only those still open then get it: the first probe comes at most that much later.
 * One sweeper belongs to one network instance (`Tcp.make`), whose scope stops its timer.
 */
import type { Conn } from "./Conn.ts"

/** How long a new connection waits before keep-alive is turned on. */
export const DELAY_MILLIS = 2_000

export class Sweeper {
  private waiting: Array<Conn> = []
  private seconds: Array<number> = []
  private timer: ReturnType<typeof setTimeout> | undefined

  private readonly sweep = () => {
    this.timer = undefined
    const conns = this.waiting
    const periods = this.seconds
    this.waiting = []
    this.seconds = []
    for (let i = 0; i < conns.length; i++) {
      const conn = conns[i]!
      if (!conn.closed) conn.setKeepAlive(periods[i]!)
    }
  }

  /** Turns keep-alive on for `conn` (first probe after `periodSeconds` idle) once it has lived a while. */
  later(conn: Conn, periodSeconds: number): void {
    if (periodSeconds <= 0) return
    this.waiting.push(conn)
    this.seconds.push(periodSeconds)
    if (this.timer === undefined) {
      this.timer = setTimeout(this.sweep, DELAY_MILLIS)
      // never keeps a process alive on its own
      ;(this.timer as { unref?: () => void }).unref?.()
    }
  }

  /** Forgets the waiting connections and stops the timer. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.waiting = []
    this.seconds = []
  }
}
