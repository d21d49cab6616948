/**
 * What a running endpoint tells its host program, as Effect values: a status (`SubscriptionRef`: read
 * it, or follow `.changes`) and a stream of the events that changed it. The tunnel's own code reports
 * from plain callbacks (a session installed by the handshake path), so `emit` is synchronous: events
 * queue, and one fiber applies them in order — the status first, then the event to subscribers.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"

export interface Feed<S, E> {
  readonly status: SubscriptionRef.SubscriptionRef<S>
  /** events from the moment the stream starts running */
  readonly events: Stream.Stream<E>
  /** subscribes now (for the life of the scope): the stream has every event from this moment on */
  readonly subscribe: Effect.Effect<Stream.Stream<E>, never, Scope.Scope>
  /** reports `event` (from any callback); the status follows within a moment */
  readonly emit: (event: E) => void
}

/** A feed for the life of the scope, starting at `initial`; `reduce` applies an event to the status. */
export const make = <S, E>(initial: S, reduce: (status: S, event: E) => S): Effect.Effect<Feed<S, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const status = yield* SubscriptionRef.make(initial)
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<E>(), PubSub.shutdown)
    const queue = yield* Effect.acquireRelease(Queue.unbounded<E>(), Queue.shutdown)
    const apply = (event: E) =>
      Effect.zipRight(SubscriptionRef.update(status, (s) => reduce(s, event)), PubSub.publish(hub, event))
    // an event taken is applied whole, so stopping the fiber loses none
    const fiber = yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), (e) => Effect.uninterruptible(apply(e)))))
    // what the endpoint's own shutdown reported (its last sessions ending) still reaches the status and
    // subscribers: everything built after the feed has closed by the time this runs
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(Fiber.interrupt(fiber), Effect.flatMap(Queue.takeAll(queue), (rest) => Effect.forEach(rest, apply, { discard: true })))
    )
    return {
      status,
      events: Stream.fromPubSub(hub),
      subscribe: Stream.fromPubSub(hub, { scoped: true }),
      emit: (event) => {
        Queue.unsafeOffer(queue, event)
      }
    }
  })
