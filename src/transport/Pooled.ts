/**
 * The pooled channel strategy (`tcp`, and `ws`/`wss` over their carriers): both halves, and the layer
 * that makes a whole transport of it over whichever carrier is provided.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Dialer from "../client/Dialer.ts"
import type { TransportName } from "../config/Config.ts"
import * as PooledChannels from "../server/PooledChannels.ts"
import type { ChannelStrategy } from "./Channels.ts"
import { Carrier, Transport } from "./Transport.ts"

/** Pre-opened data channels, reused one connection after another. */
export const strategy: ChannelStrategy = {
  name: "pooled",
  server: PooledChannels.make,
  client: Dialer.make
}

/** A transport named `name`: pooled channels over the provided carrier. */
export const layer = (name: TransportName): Layer.Layer<Transport, never, Carrier> =>
  Layer.effect(Transport, Effect.map(Carrier, (carrier) => ({ name, carrier, channels: strategy })))
