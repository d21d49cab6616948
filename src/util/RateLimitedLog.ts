/**
 * Logs a recurring event at most once per interval, saying how many were suppressed in between, so a
 * flood (a port scanner, a full queue) cannot flood the log too.
 */
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"

/** A log line that repeats at most once per `intervalMillis`. */
export const make = (level: LogLevel.LogLevel, intervalMillis = 10_000) => {
  let last = 0
  let suppressed = 0
  return (message: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const now = Date.now()
      if (now - last < intervalMillis) {
        suppressed++
        return Effect.void
      }
      last = now
      const extra = suppressed > 0 ? ` (${suppressed} similar suppressed)` : ""
      suppressed = 0
      return Effect.logWithLevel(level, message + extra)
    })
}
