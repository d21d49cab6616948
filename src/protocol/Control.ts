/**
 * The control-channel loop both sides run after the handshake: send a Ping every heartbeat, read frames,
 * and declare the peer dead when nothing at all arrived for about three heartbeats. Frames are handed to
 * the role's own synchronous handler; a Goodbye ends the loop with the peer's reason.
 *
 * Reading is callbacks (a frame per new connection arrives here, see `net/Callback.ts`); the heartbeat
 * is a fiber on a Schedule that also checks when the peer was last heard from, so no timer is armed per
 * frame.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type Cancel, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import * as Handshake from "./Handshake.ts"
import { type Frame, ProtocolError } from "./Protocol.ts"

/** Heartbeats missed in a row before the peer counts as dead. */
export const MISSED_HEARTBEATS = 3

/** Runs until the channel fails, the peer says Goodbye, or the peer goes silent. */
export const run = (
  conn: Conn,
  heartbeatMillis: number,
  onFrame: (frame: Frame) => void,
  onTick: () => void = () => {},
  /** where the time the peer was last heard from is kept (the server's session table reads it) */
  heard: { lastHeard: number } = { lastHeard: Date.now() }
): Effect.Effect<never, ProtocolError> => {
  heard.lastHeard = Date.now()
  const reader = toEffect<never, ProtocolError>((done) => {
    let current: Cancel = () => {}
    const next = () => {
      current = Handshake.readFrameCb(conn, (error, frame) => {
        if (error) return done(error)
        heard.lastHeard = Date.now()
        if (frame!._tag === "Goodbye") {
          return done(new ProtocolError({ reason: "Closed", detail: `peer said goodbye: ${frame!.reason}` }))
        }
        if (frame!._tag !== "Ping") onFrame(frame!)
        next()
      })
    }
    next()
    return () => current()
  })
  const watchdog = Effect.suspend(() => {
    const silent = Date.now() - heard.lastHeard
    return silent > deadAfter
      ? Effect.fail(
        new ProtocolError({ reason: "Timeout", detail: `peer silent for ${silent} ms (${MISSED_HEARTBEATS} heartbeats missed)` })
      )
      : Effect.void
  })
  // the watchdog looks a few times per heartbeat; its limit is one look short of 3 heartbeats + 1 s, so a
  // dead peer is declared within 3 × heartbeat + 1 s of going silent, the look's lag included
  const checks = Math.max(1, Math.min(4, Math.floor(heartbeatMillis / 250)))
  const deadAfter = heartbeatMillis * MISSED_HEARTBEATS + Math.min(heartbeatMillis, 1000) - heartbeatMillis / checks
  let n = 0
  const beat = Effect.zipRight(
    watchdog,
    Effect.sync(() => {
      if (n++ % checks !== 0) return
      Handshake.sendFrame(conn, { _tag: "Ping", sentAt: Date.now() })
      onTick()
    })
  )
  const sender = beat.pipe(Effect.repeat(Schedule.spaced(heartbeatMillis / checks)), Effect.zipRight(Effect.never))
  return Effect.raceFirst(reader, sender)
}
