/**
 * Scoped attempts that can be retried: each attempt acquires into its own child scope, released at once
 * if the attempt fails, kept with the caller's scope if it succeeds. Without this, every failed attempt of
 * a retried connect would keep its socket until the whole session ends.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Scope from "effect/Scope"

/** Runs a scoped effect in a child scope that is closed if it fails. */
export const attempt = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Scope.Scope> | Scope.Scope> =>
  Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Scope.fork(outer, ExecutionStrategy.sequential), (inner) =>
      Scope.extend(effect, inner).pipe(Effect.onError((cause) => Scope.close(inner, Exit.failCause(cause))))))
