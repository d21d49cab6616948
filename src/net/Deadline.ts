/**
 * A deadline on one conn's exchange (a handshake, a dial): one timer that, when it fires, stops the
 * exchange, destroys the conn and reports `onExpire()`. Cleared as soon as the exchange completes.
 */
import { type Cancel, type Done, once } from "./Callback.ts"
import type { Conn } from "./Conn.ts"

/** Wraps a callback operation on `conn` with a deadline. */
export const deadline = <A, E, E2>(
  conn: Conn,
  millis: number,
  onExpire: () => E2,
  start: (done: Done<A, E>) => Cancel
) =>
(done: Done<A, E | E2>): Cancel => {
  const finish = once(done)
  let cancel: Cancel = () => {}
  const timer = setTimeout(() => {
    // the error first, while the conn is open: it may want what a closed socket no longer knows (its peer)
    const error = onExpire()
    cancel()
    conn.destroy()
    finish(error)
  }, millis)
  cancel = start((error, value) => {
    clearTimeout(timer)
    finish(error, value)
  })
  return () => {
    clearTimeout(timer)
    cancel()
  }
}
