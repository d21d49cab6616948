/**
 * The retry policies, run against the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Schedules from "../../src/tunnel/Schedules.ts"

/** Counts attempts of an always-failing effect retried on `schedule`, after each clock adjustment. */
const attemptsAfter = (schedule: ReturnType<typeof Schedules.reconnect>, steps: ReadonlyArray<Duration.DurationInput>) =>
  Effect.gen(function*() {
    let attempts = 0
    const fiber = yield* Effect.fork(Effect.retry(Effect.suspend(() => {
      attempts++
      return Effect.fail("down")
    }), schedule))
    const seen: Array<number> = []
    for (const step of steps) {
      yield* TestClock.adjust(step)
      seen.push(attempts)
    }
    yield* Fiber.interrupt(fiber)
    return seen
  })

describe("Schedules.reconnect", () => {
  it.effect("backs off exponentially from the first delay", () =>
    Effect.gen(function*() {
      // delays ≈ 1, 2, 4, 8 s (jitter 0.8–1.2×): by 10 s the 4th attempt at most
      const [at10] = yield* attemptsAfter(Schedules.reconnect("1 second", "30 seconds"), ["10 seconds"])
      assert.isAtLeast(at10!, 3)
      assert.isAtMost(at10!, 5)
    }))

  it.effect("never waits much longer than the cap", () =>
    Effect.gen(function*() {
      const [early, late] = yield* attemptsAfter(Schedules.reconnect("1 second", "30 seconds"), ["10 minutes", "10 minutes"])
      // 10 minutes at ≤ 30 s a retry is at least 20 more attempts
      assert.isAtLeast(late! - early!, 20)
    }))

  it.effect("no single wait is longer than the cap, jitter included", () =>
    Effect.gen(function*() {
      // the first 200 delays it hands out: well past the point where doubling reaches the cap
      const delays = yield* Schedule.run(Schedule.delays(Schedules.reconnect("1 second", "30 seconds")), 0, Array(200).fill(0))
      const millis = Chunk.toReadonlyArray(delays).map(Duration.toMillis)
      assert.strictEqual(millis.length, 200)
      assert.isAtMost(Math.max(...millis), 30_000)
      // still jittered below the cap: a fleet does not retry in lock-step
      assert.isAbove(new Set(millis.slice(50)).size, 1)
    }))
})

describe("Schedules.nextSession", () => {
  it.effect("backs off while sessions end quickly, and starts over at the first delay after a healthy one", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      // sessions 1-4 end at once; session 5 is healthy for 70 s; session 6 follows
      const session = Effect.gen(function*() {
        starts.push(yield* Clock.currentTimeMillis)
        if (starts.length === 5) yield* Effect.sleep("70 seconds")
      })
      const fiber = yield* Effect.fork(Effect.repeat(session, Schedules.nextSession("1 second", "60 seconds")))
      for (let i = 0; i < 200 && starts.length < 6; i++) yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fiber)
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
      // quick endings: ≈ 1, 2, 4, 8 s apart (jitter 0.8–1.2×)
      assert.isAtMost(gaps[0]!, 1_200 + 500)
      assert.isAtLeast(gaps[3]!, 6_400)
      // after the 70 s session: back to ≈ 1 s
      assert.isAtMost(gaps[4]! - 70_000, 1_200 + 500)
    }))
})
