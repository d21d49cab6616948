/**
 * The server side of one authenticated control channel: announce the session's settings, make it the
 * live session, and keep it alive with heartbeats until the client goes away, goes silent or is
 * replaced by a newer one.
 */
import * as Effect from "effect/Effect"
import * as Control from "../protocol/Control.ts"
import * as Handshake from "../protocol/Handshake.ts"
import type { ServerChannels } from "../transport/Channels.ts"
import type { Channel } from "../transport/Transport.ts"
import type { Sessions } from "./Sessions.ts"

/** Runs one control session to its end; never fails (the reason is logged). */
export const run = (
  conn: Channel,
  sessionId: string,
  sessions: Sessions,
  channels: ServerChannels,
  heartbeatMillis: number
): Effect.Effect<void> => {
  return Effect.gen(function*() {
    Handshake.sendFrame(conn, { _tag: "Welcome", heartbeatMs: heartbeatMillis, ...channels.welcome })
    sessions.install({
      id: sessionId,
      send: (frame) => Handshake.sendFrame(conn, frame),
      close: (reason) => {
        Handshake.sendFrame(conn, { _tag: "Goodbye", reason })
        conn.end()
      }
    })
    yield* Effect.logInfo("client session established")
    return yield* Control.run(
      conn,
      heartbeatMillis,
      () => {}, // the client sends nothing but heartbeats; anything else is ignored
      channels.tick
    )
  }).pipe(
    Effect.catchAll((e) => Effect.logWarning(`client session ended: ${e.message}`)),
    Effect.ensuring(Effect.sync(() => sessions.uninstall(sessionId))),
    Effect.annotateLogs({ session: sessionId.slice(0, 8), peer: conn.remote })
  )
}
