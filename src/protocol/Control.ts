/**
 * The control-channel loop both sides run after the handshake: send a Ping every heartbeat, read frames,
 * and declare the peer dead when nothing at all arrives for about three heartbeats. Frames are handed to
 * the role's own handler; a Goodbye ends the loop with the peer's reason.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { Duplex } from "node:stream"
import * as Handshake from "./Handshake.ts"
import { type Frame, ProtocolError } from "./Protocol.ts"

/** Heartbeats missed in a row before the peer counts as dead. */
export const MISSED_HEARTBEATS = 3

/** Runs until the channel fails, the peer says Goodbye, or the peer goes silent. */
export const run = <E, R>(
  stream: Duplex,
  heartbeatMillis: number,
  onFrame: (frame: Frame) => Effect.Effect<void, E, R>,
  onTick: Effect.Effect<void> = Effect.void
): Effect.Effect<never, ProtocolError | E, R> => {
  const deadAfter = heartbeatMillis * MISSED_HEARTBEATS + Math.min(heartbeatMillis, 1000)
  const sender = Effect.zipRight(Handshake.sendFrame(stream, { _tag: "Ping", sentAt: Date.now() }), onTick).pipe(
    Effect.repeat(Schedule.spaced(heartbeatMillis)),
    Effect.zipRight(Effect.never)
  )
  const reader = Handshake.readFrame(stream).pipe(
    Effect.timeoutFail({
      duration: deadAfter,
      onTimeout: () =>
        new ProtocolError({ reason: "Timeout", detail: `peer silent for ${deadAfter} ms (${MISSED_HEARTBEATS} heartbeats missed)` })
    }),
    Effect.flatMap((frame): Effect.Effect<void, ProtocolError | E, R> =>
      frame._tag === "Goodbye"
        ? Effect.fail(new ProtocolError({ reason: "Closed", detail: `peer said goodbye: ${frame.reason}` }))
        : frame._tag === "Ping"
        ? Effect.void
        : onFrame(frame)
    ),
    Effect.forever
  )
  return Effect.raceFirst(reader, sender)
}
