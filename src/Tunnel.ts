/**
 * Whole tunnel endpoints as layers: a role plus the transport its config names. What the CLI launches,
 * and what a program embedding backhaul uses.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ClientConfig, ServerConfig } from "./config/Config.ts"
import * as Client from "./client/Client.ts"
import * as Server from "./server/Server.ts"
import * as Transports from "./transport/Transports.ts"

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

/** A server with its transport, ready to launch. */
export const serverLayer = (config: ServerConfig, tuning?: Server.ServerTuning) =>
  Server.layer(config, tuning, transport).pipe(Layer.provide(transport(config)))

/** A client with its transport, ready to launch. */
export const clientLayer = (config: ClientConfig) => Client.layer(config).pipe(Layer.provide(transport(config)))

/** Waits until the client has a live session. */
export const awaitConnected: Effect.Effect<void, never, Client.Client> = Effect.flatMap(Client.Client, (client) =>
  client.connected.changes.pipe(
    Stream.takeUntil((up) => up),
    Stream.runDrain
  ))
