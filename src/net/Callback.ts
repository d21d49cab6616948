/**
 * The per-connection data path is written as plain callbacks (one Effect per connection around them,
 * not dozens): measured under Bun, every Effect step on that path cost microseconds, and a connection took
 * hundreds of them. This module is the bridge: the callback shape, and turning one into an Effect.
 */
import * as Effect from "effect/Effect"

/** Completion callback: an error, or a value. Called at most once. */
export type Done<A, E> = (error: E | undefined, value?: A) => void

/** Stops a callback operation that has not completed (removes listeners, clears timers, closes sockets). */
export type Cancel = () => void

/** An Effect running a callback operation; interruption calls its `Cancel`. */
export const toEffect = <A, E>(start: (done: Done<A, E>) => Cancel): Effect.Effect<A, E> =>
  Effect.async<A, E>((resume) => {
    const cancel = start((error, value) => resume(error === undefined ? Effect.succeed(value as A) : Effect.fail(error)))
    return Effect.sync(cancel)
  })

/** Calls `done` at most once, whatever calls it. */
export const once = <A, E>(done: Done<A, E>): Done<A, E> => {
  let called = false
  return (error, value) => {
    if (called) return
    called = true
    done(error, value)
  }
}
