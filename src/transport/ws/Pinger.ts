/**
 * WebSocket keepalive for every connection of one carrier, on one timer (no timer per connection: many
 * thousands are held): each tick pings every connection, and one that received nothing during `limit`
 * ticks in a row is dead and destroyed. Proxies cut idle connections (nginx after 60 s, Cloudflare after
 * ~100 s), so the tick is well under that; a ping also proves the path still carries bytes.
 */
import type { WsConn } from "./WsConn.ts"

/** Ticks without an answer after which a connection is dead. */
export const MISSED_LIMIT = 3

export class Pinger {
  private readonly conns = new Set<WsConn>()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly intervalMillis: number) {}

  add(conn: WsConn): void {
    this.conns.add(conn)
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.intervalMillis)
      // a process with nothing else to do exits: the timer alone keeps nothing alive
      this.timer.unref?.()
    }
  }

  /** connections being watched (for tests and stats) */
  get size(): number {
    return this.conns.size
  }

  private tick(): void {
    for (const conn of this.conns) {
      if (conn.closed) {
        this.conns.delete(conn)
      } else if (conn.missed >= MISSED_LIMIT) {
        this.conns.delete(conn)
        conn.destroy()
      } else {
        conn.missed++
        conn.ping()
      }
    }
    if (this.conns.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}
