/**
 * The named retry policies. Jittered so a fleet of clients does not reconnect in lock-step after a server
 * restart; capped so a long outage still retries every `cap`.
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"

/**
 * Reconnect backoff: `first`, doubling, jittered, never longer than `cap`. The cap applies after the
 * jitter (jitter scales a delay by 0.8–1.2, so a cap before it let waits reach 1.2 × cap).
 */
export const reconnect = (first: Duration.DurationInput, cap: Duration.DurationInput = "30 seconds") => {
  const capMillis = Duration.toMillis(Duration.decode(cap))
  return Schedule.exponential(first, 2).pipe(
    Schedule.either(Schedule.spaced(cap)),
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.millis(Math.min(Duration.toMillis(delay), capMillis)))
  )
}

/**
 * Pause before the next session after one ended: `first` after a healthy session, backing off like
 * `reconnect` while sessions keep ending quickly (two clients fighting over one server, a server that
 * accepts and then drops us).
 */
export const nextSession = (first: Duration.DurationInput, healthy: Duration.DurationInput = "60 seconds") =>
  reconnect(first).pipe(Schedule.resetAfter(healthy))

/** A few quick retries for one data channel dial. */
export const dataDial = Schedule.exponential("50 millis", 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))
