/**
 * The server side of one authenticated control channel, already welcomed and installed in `Sessions`:
 * keep it alive with heartbeats until the client goes away, goes silent or is
 * replaced. A session that went silent is declared dead: `Sessions` then resets every channel of it.
 */
import * as Effect from "effect/Effect"
import * as Control from "../protocol/Control.ts"
import type { ProtocolError } from "../protocol/Protocol.ts"
import type { ServerChannels } from "../transport/Channels.ts"
import type { Channel } from "../transport/Transport.ts"
import type { LiveSession, Sessions } from "./Sessions.ts"

/** Runs one control session to its end; never fails (the reason is logged). */
export const run = (
  conn: Channel,
  session: LiveSession,
  sessions: Sessions,
  channels: ServerChannels,
  heartbeatMillis: number
): Effect.Effect<void> => {
  let dead = false
  return Control.run(
    conn,
    heartbeatMillis,
    () => {}, // the client sends nothing but heartbeats; anything else is ignored
    channels.tick,
    session
  ).pipe(
    Effect.catchAll((e: ProtocolError) => {
      dead = e.reason === "Timeout"
      // a client that stops cleanly says goodbye first (see client/Client.ts); a reset is worth a warning
      if (e.reason === "Closed" && e.detail.startsWith("peer said goodbye")) return Effect.logInfo(`client session ended: ${e.message}`)
      return Effect.logWarning(`client session ended: ${e.message}${dead ? "; resetting its connections" : ""}`)
    }),
    Effect.ensuring(Effect.sync(() => sessions.uninstall(session.id, dead))),
    Effect.annotateLogs({ session: session.id.slice(0, 8), client: session.instance.slice(0, 8), peer: session.remote })
  )
}
