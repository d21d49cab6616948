/**
 * Whole tunnel endpoints as layers: a role plus the transport its config names, on the `Network` the
 * host program provides. What the CLI launches, and what a program embedding backhaul uses:
 *
 *   const server = Tunnel.serverLayer(serverConfig).pipe(Layer.provide(Network.tcp))
 *   Layer.launch(server).pipe(NodeRuntime.runMain)
 *
 * A running endpoint is a service (`Tunnel.Server`, `Tunnel.Client`) that tells its host program what it
 * is doing as Effect values: `status` (a `SubscriptionRef`), `events` (a `Stream`), `counters`, and the
 * `drain` (and, for the server, `reload`) a host calls.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ClientConfig, ServerConfig } from "./config/Config.ts"
import * as Client from "./client/Client.ts"
import type { Network } from "./net/Network.ts"
import * as Server from "./server/Server.ts"
import type { Transport, TransportError } from "./transport/Transport.ts"
import * as Transports from "./transport/Transports.ts"

export { Server, type RunningServer, type ServerStatus, type ServerEvent, type SessionInfo, ReloadError } from "./server/Server.ts"
export { Client, type RunningClient, type ClientStatus, type ClientEvent } from "./client/Client.ts"
export type { Counters } from "./tunnel/Stats.ts"

/** The config asks for something this build cannot do. */
export class UnsupportedError extends Schema.TaggedError<UnsupportedError>()("UnsupportedError", {
  detail: Schema.String
}) {
  get message() {
    return this.detail
  }
}

const transport = (config: ServerConfig | ClientConfig) =>
  Either.match(Transports.layerFor(config), {
    onLeft: (detail) => Layer.fail(new UnsupportedError({ detail })),
    onRight: (layer) => layer
  })

/**
 * A server with the transport its config names, ready to launch. It fails to build when the tunnel
 * port cannot be bound; user ports that cannot be bound are retried in the background and logged.
 */
export const serverLayer = (config: ServerConfig): Layer.Layer<Server.Server, UnsupportedError | TransportError, Network> =>
  serverLayerTuned(config)

/** @internal `serverLayer` with tuning a config does not expose (tests shorten the waits) */
export const serverLayerTuned = (
  config: ServerConfig,
  tuning?: Server.ServerTuning
): Layer.Layer<Server.Server, UnsupportedError | TransportError, Network> =>
  Server.layer(config, tuning, transport).pipe(Layer.provide(transport(config)))

/** A client with the transport its config names, ready to launch; it connects and reconnects on its own. */
export const clientLayer = (config: ClientConfig): Layer.Layer<Client.Client, UnsupportedError, Network> =>
  Client.layer(config).pipe(Layer.provide(transport(config)))

/** Waits until the client has a live session. */
export const awaitConnected: Effect.Effect<void, never, Client.Client> = Effect.flatMap(Client.Client, (client) =>
  client.connected.changes.pipe(
    Stream.takeUntil((up) => up),
    Stream.runDrain
  ))

/** The server role alone, on the `Transport` (and `Network`) the program provides (see `Transports`). */
export const serverRole = (config: ServerConfig): Layer.Layer<Server.Server, TransportError, Transport | Network> =>
  Server.layer(config)

/** The client role alone, on the `Transport` (and `Network`) the program provides. */
export const clientRole = (config: ClientConfig): Layer.Layer<Client.Client, never, Transport | Network> =>
  Client.layer(config)
