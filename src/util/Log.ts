/**
 * Logging from callback code (the per-connection path): a plain function that hands a line to Effect's
 * logger — with the annotations of the fiber that made it — only when its level is enabled, so a
 * disabled debug line costs one comparison. Built once per component, in its scope.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"

/** Logs one line at `level`; a function message is only built when the level is enabled. */
export type Log = (level: LogLevel.LogLevel, message: string | (() => string)) => void

/** A `Log` bound to the current fiber's logger, level and annotations. */
export const make: Effect.Effect<Log, never, Scope.Scope> = Effect.gen(function*() {
  const minimum = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
  const run = yield* FiberSet.makeRuntime<never, void, never>()
  return (level, message) => {
    if (LogLevel.greaterThanEqual(level, minimum)) {
      run(Effect.logWithLevel(level, typeof message === "string" ? message : message()))
    }
  }
})

/** A log line that repeats at most once per `intervalMillis`, saying how many were suppressed. */
export const rateLimited = (log: Log, level: LogLevel.LogLevel, intervalMillis = 10_000) => {
  let last = 0
  let suppressed = 0
  return (message: string): void => {
    const now = Date.now()
    if (now - last < intervalMillis) {
      suppressed++
      return
    }
    last = now
    log(level, suppressed > 0 ? `${message} (${suppressed} similar suppressed)` : message)
    suppressed = 0
  }
}
