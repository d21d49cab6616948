/**
 * Gives back the memory start-up used and no longer needs (config parsing, schema building, module
 * initialisation): a full garbage collection, then the allocator returns free pages to the system. Under
 * Bun that is about 3.5 MB of an idle process's 60; elsewhere it does nothing.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

interface BunMemory {
  readonly gc: (force: boolean) => void
  readonly shrink?: () => void
}

/** Collects garbage and returns free pages, where the runtime offers it. */
export const releaseStartup = (): void => {
  const bun = (globalThis as { Bun?: BunMemory }).Bun
  if (bun === undefined) return
  bun.gc(true)
  bun.shrink?.()
}

/**
 * Gives memory back once a burst of connections is over: when at least `burst` connections opened since
 * the last release and none in the last second, the same collection and page return as at start-up. A
 * burst leaves its garbage (handshake buffers, dial state) in a heap the allocator keeps; measured at
 * 9,800 idle tcpmux streams, that was ~0.5 KiB per stream of server + client RSS three seconds later.
 * One full collection per burst, never more often than once a second; a steady load triggers nothing.
 */
export const releaseAfterBursts = (opened: () => number, burst = 1_000): Effect.Effect<void> =>
  Effect.suspend(() => {
    let released = opened()
    let last = released
    return Effect.sync(() => {
      const now = opened()
      // a new counter (a reloaded client starts at 0): measure from it
      if (now < released) released = now
      if (now === last && now - released >= burst) {
        releaseStartup()
        released = now
      }
      last = now
    }).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.asVoid)
  })
