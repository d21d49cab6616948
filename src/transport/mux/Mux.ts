/**
 * The streams channel strategy: the multiplexer over any carrier (`tcpmux` over tcp; `wsmux`, `wssmux`
 * over WebSocket carriers), both halves, and the layer that makes a whole transport of it.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MuxClient from "../../client/MuxSessions.ts"
import type { TransportName } from "../../config/Config.ts"
import * as MuxServer from "../../server/MuxSessions.ts"
import type { ChannelStrategy } from "../Channels.ts"
import { Carrier, Transport } from "../Transport.ts"
import type { MuxSettings } from "./Settings.ts"

/** A stream per user connection over `mux_session` multiplexer sessions. */
export const strategy = (settings: MuxSettings): ChannelStrategy => ({
  name: "streams",
  server: (ctx) => MuxServer.make(ctx, settings),
  client: (ctx) => MuxClient.make(ctx, settings)
})

/** A transport named `name`: the multiplexer over the provided carrier. */
export const layer = (name: TransportName, settings: MuxSettings): Layer.Layer<Transport, never, Carrier> =>
  Layer.effect(Transport, Effect.map(Carrier, (carrier) => ({ name, carrier, channels: strategy(settings) })))
