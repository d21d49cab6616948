/**
 * Connections owned by a scope without a fiber each: the per-connection path registers its connections
 * here, a connection leaves the set when it closes, and closing the scope destroys whatever is left.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Conn } from "./Conn.ts"

/** A set of owned connections. */
export interface Owned {
  /** owns `conn` until it closes */
  readonly add: (conn: Conn) => void
  /** connections owned now (a drain waits for this to reach 0) */
  readonly size: () => number
}

/** A set of owned connections, all destroyed when the scope closes. */
export const make: Effect.Effect<Owned, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new Set<Conn>()),
    (set) =>
      Effect.sync(() => {
        const all = [...set]
        set.clear()
        for (const conn of all) conn.destroy()
      })
  ),
  (set) => {
    // one function for every connection: no closure kept per connection
    const forget = (conn: Conn) => set.delete(conn)
    return {
      add: (conn) => {
        set.add(conn)
        conn.onClose(forget)
      },
      size: () => set.size
    }
  }
)
