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
  return {
    /** No address has failed recently: nothing can be blocked. */
    get idle(): boolean {
      if (table.size > 0 && Date.now() - lastFailure > options.windowMillis) table.clear()
      return table.size === 0
    },
    /** Whether `address` is refused right now. */
    blocked(address: string, now = Date.now()): boolean {
      const e = table.get(address)
      if (!e) return false
      if (now - e.since > options.windowMillis) {
        table.delete(address)
        return false
      }
      return e.failures >= options.maxFailures
    },
    /** Records one failed handshake from `address`. */
    fail(address: string, now = Date.now()): void {
      lastFailure = Math.max(lastFailure, now)
      const e = table.get(address)
      if (e && now - e.since <= options.windowMillis) {
        e.failures++
        return
      }
      if (table.size >= maxEntries) sweep(now)
      table.set(address, { failures: 1, since: now })
    }
  }
}
