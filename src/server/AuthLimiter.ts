/**
 * Per-source-address limit on failed handshakes: after `maxFailures` failures within `windowMillis`, the
 * address is refused at once for the rest of the window. Bounded memory: old entries are swept when the
 * table grows.
 */

/** Options of the limiter. */
export interface AuthLimiterOptions {
  readonly maxFailures: number
  readonly windowMillis: number
  readonly maxEntries?: number
}

interface Entry {
  failures: number
  since: number
}

/** Creates a limiter. */
export const make = (options: AuthLimiterOptions) => {
  const table = new Map<string, Entry>()
  const maxEntries = options.maxEntries ?? 10_000
  let lastFailure = 0
  const sweep = (now: number) => {
    for (const [key, e] of table) if (now - e.since > options.windowMillis) table.delete(key)
  }
  /** the address's entry while its window runs */
  const current = (address: string, now: number): Entry | undefined => {
    const e = table.get(address)
    if (e === undefined) return undefined
    if (now - e.since > options.windowMillis) {
      table.delete(address)
      return undefined
    }
    return e
  }
  return {
    maxFailures: options.maxFailures,
    windowMillis: options.windowMillis,
    /** No address has failed recently: nothing can be blocked. */
    get idle(): boolean {
      if (table.size > 0 && Date.now() - lastFailure > options.windowMillis) table.clear()
      return table.size === 0
    },
    /** Whether `address` is refused right now. */
    blocked(address: string, now = Date.now()): boolean {
      const e = current(address, now)
      return e !== undefined && e.failures >= options.maxFailures
    },
    /** How long `address` stays refused, in milliseconds (0: it is not). */
    lockedFor(address: string, now = Date.now()): number {
      const e = current(address, now)
      return e === undefined || e.failures < options.maxFailures ? 0 : Math.max(0, e.since + options.windowMillis - now)
    },
    /** Records one failed handshake from `address`; true when this one locks the address out. */
    fail(address: string, now = Date.now()): boolean {
      lastFailure = Math.max(lastFailure, now)
      const e = current(address, now)
      if (e !== undefined) {
        e.failures++
        return e.failures === options.maxFailures
      }
      if (table.size >= maxEntries) sweep(now)
      table.set(address, { failures: 1, since: now })
      return options.maxFailures === 1
    }
  }
}

/** A limiter. */
export type AuthLimiter = ReturnType<typeof make>
