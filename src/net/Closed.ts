/**
 * Waiting for a stream to close, as an Effect.
 */
import * as Effect from "effect/Effect"
import type { Duplex } from "node:stream"

/** Completes when `stream` has closed (at once if it already has). */
export const awaitClose = (stream: Duplex): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (stream.destroyed || stream.closed) return resume(Effect.void)
    const done = () => resume(Effect.void)
    stream.once("close", done)
    return Effect.sync(() => stream.off("close", done))
  })
