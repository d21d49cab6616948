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

/**
 * Lines that repeat at most once per `intervalMillis` per key, each key with its own count of what it
 * suppressed: so one kind of line (a flood of scanners) never hides another (a client with the wrong
 * token). Keys must come from a small fixed set (reasons, not addresses): each keeps its state for good.
 * A suppressed line's message is never built.
 */
export const rateLimitedByKey = (log: Log, intervalMillis = 10_000) => {
  const keys = new Map<string, { last: number; suppressed: number }>()
  return (key: string, level: LogLevel.LogLevel, message: string | (() => string)): void => {
    const now = Date.now()
    let state = keys.get(key)
    if (state === undefined) keys.set(key, state = { last: -Infinity, suppressed: 0 })
    if (now - state.last < intervalMillis) {
      state.suppressed++
      return
    }
    state.last = now
    const suppressed = state.suppressed
    state.suppressed = 0
    log(level, () => {
      const text = typeof message === "string" ? message : message()
      return suppressed > 0 ? `${text} (${suppressed} more like it suppressed)` : text
    })
  }
}
