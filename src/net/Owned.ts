/**
 * Streams owned by a scope without a fiber each: the per-connection path registers its sockets here, a
 * socket leaves the set when it closes, and closing the scope destroys whatever is left.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** A set of owned streams. */
export interface Owned {
  /** owns `stream` until it closes */
  readonly add: (stream: { destroy: () => void; on: (event: "close", f: () => void) => unknown }) => void
}

/** A set of owned streams, all destroyed when the scope closes. */
export const make: Effect.Effect<Owned, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new Set<{ destroy: () => void }>()),
    (set) =>
      Effect.sync(() => {
        for (const s of set) s.destroy()
        set.clear()
      })
  ),
  (set) => ({
    add: (stream) => {
      set.add(stream)
      stream.on("close", () => set.delete(stream))
    }
  })
)
