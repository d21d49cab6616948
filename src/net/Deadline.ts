/**
 * A deadline on one stream's exchange (a handshake, a dial): one timer that, when it fires, stops the
 * exchange, destroys the stream and reports `onExpire()`. Cleared as soon as the exchange completes.
 */
import type { Duplex } from "node:stream"
import { type Cancel, type Done, once } from "./Callback.ts"

/** Wraps a callback operation on `stream` with a deadline. */
export const deadline = <A, E, E2>(
  stream: Duplex,
  millis: number,
  onExpire: () => E2,
  start: (done: Done<A, E>) => Cancel
) =>
(done: Done<A, E | E2>): Cancel => {
  const finish = once(done)
  let cancel: Cancel = () => {}
  const timer = setTimeout(() => {
    cancel()
    stream.destroy()
    finish(onExpire())
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
