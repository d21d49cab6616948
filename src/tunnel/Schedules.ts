/**
 * The named retry policies. Jittered so a fleet of clients does not reconnect in lock-step after a server
 * restart; capped so a long outage still retries every `cap`.
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"

/** Reconnect backoff: `first`, doubling, jittered, never longer than `cap`. */
export const reconnect = (first: Duration.DurationInput, cap: Duration.DurationInput = "30 seconds") =>
  Schedule.exponential(first, 2).pipe(
    Schedule.either(Schedule.spaced(cap)),
    Schedule.jittered
  )

/** A few quick retries for one data channel dial. */
export const dataDial = Schedule.exponential("50 millis", 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))
