/**
 * Waiting, bounded, for something to go quiet: a drain waits for live connections to finish. Polled
 * (ten times a second) rather than signalled, since the counters it reads are bumped on the
 * per-connection path, which must not pay for a notification nobody is waiting for.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** Waits until `idle()` or until `millis` passed; succeeds with whether it got idle. */
export const waitIdle = (idle: () => boolean, millis: number): Effect.Effect<boolean> =>
  Effect.suspend(() => (idle() ? Effect.succeed(true) : Effect.fail("busy" as const))).pipe(
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutTo({ duration: millis, onSuccess: () => true, onTimeout: () => false }),
    Effect.orElseSucceed(() => false)
  )
