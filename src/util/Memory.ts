/**
 * Gives back the memory start-up used and no longer needs (config parsing, schema building, module
 * initialisation): a full garbage collection, then the allocator returns free pages to the system. Under
 * Bun that is about 3.5 MB of an idle process's 60; elsewhere it does nothing.
 */
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
