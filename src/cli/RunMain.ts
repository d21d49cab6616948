/**
 * Runs the program's main Effect as the process: the first SIGINT/SIGTERM interrupts it (every scope
 * closes: a running role drains first) and the process exits with the code `exitCode` picks; a second
 * signal exits at once with 130. SIGHUP, SIGUSR1 and SIGUSR2 never end the process.
 * The same job as @effect/platform-node's `runMain`, without loading the platform layer on the service
 * path (see `ServiceArgs.ts`).
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

const ignore = () => {}

/** Runs `program` until it ends or a signal interrupts it, then exits with `exitCode(exit)`. */
export const runMain = <E, A>(program: Effect.Effect<A, E>, exitCode: (exit: Exit.Exit<A, E>) => number): void => {
  // fibers waiting on nothing but each other do not keep the event loop alive; this does, until the end
  const keepAlive = setInterval(() => {}, 2 ** 30)
  const fiber = Effect.runFork(program)
  let signals = 0
  const onSignal = () => {
    if (++signals > 1) process.exit(130)
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  // by default these end the process (SIGHUP with exit 129, silently): a service must survive them.
  // SIGHUP reloads the config where a role runs (`Supervise.ts` adds that listener); the others are
  // ignored, and so is SIGHUP by every other command
  for (const name of ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const) process.on(name, ignore)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    process.exit(exitCode(exit))
  })
}
