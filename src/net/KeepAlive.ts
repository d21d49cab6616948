/**
 * TCP keep-alive, set on connections that live long enough to need it. Keep-alive only acts after
 * `keepalive_period` seconds of silence, yet turning it on costs four system calls per socket — on a
 * virtual machine, a real share of a short connection's cost. So new connections wait here for up to
 * `DELAY_MILLIS`, and only those still open then get it: the first probe comes at most that much later.
 */
import type { Conn } from "./Conn.ts"

/** How long a new connection waits before keep-alive is turned on. */
export const DELAY_MILLIS = 2_000

let waiting: Array<Conn> = []
let seconds: Array<number> = []
let timer: ReturnType<typeof setTimeout> | undefined

const sweep = () => {
  timer = undefined
  const conns = waiting
  const periods = seconds
  waiting = []
  seconds = []
  for (let i = 0; i < conns.length; i++) {
    const conn = conns[i]!
    if (!conn.closed) conn.setKeepAlive(periods[i]!)
  }
}

/** Turns keep-alive on for `conn` (first probe after `periodSeconds` idle) once it has lived a while. */
export const later = (conn: Conn, periodSeconds: number): void => {
  if (periodSeconds <= 0) return
  waiting.push(conn)
  seconds.push(periodSeconds)
  if (timer === undefined) {
    timer = setTimeout(sweep, DELAY_MILLIS)
    // never keeps a process alive on its own
    ;(timer as { unref?: () => void }).unref?.()
  }
}
