/**
 * How user connections get a channel through the carrier, chosen once with the transport:
 * - **pooled** (`tcp`, `ws`): data channels opened ahead of time (`OpenData`), one user connection after
 *   another on each (`Connect`, `Data`/`End` frames);
 * - **streams** (`tcpmux`, `wsmux`, `wssmux`): `mux_session` multiplexer sessions per client, a new
 *   stream per user connection, its first frame the `Connect`; the stream's FIN and RST are the
 *   half-close and the reset.
 * A strategy has a server half and a client half; the roles build theirs from the context they pass in
 * and call nothing else of it.
 */
import type * as Either from "effect/Either"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ClientConfig, HostPort, ServerConfig } from "../config/Config.ts"
import type { Conn } from "../net/Conn.ts"
import type { NetworkShape } from "../net/Network.ts"
import type { Owned } from "../net/Owned.ts"
import type { DataChannelId } from "../protocol/Handshake.ts"
import type { Frame } from "../protocol/Protocol.ts"
import type { Sessions } from "../server/Sessions.ts"
import type { UserPort } from "../server/UserPorts.ts"
import type { Stats } from "../tunnel/Stats.ts"
import type { Log } from "../util/Log.ts"
import type { CarrierShape, Channel } from "./Transport.ts"

/** Runs an Effect in the owner's scope: for the rare step that needs a fiber. */
export type Fork = (effect: Effect.Effect<void>) => void

/** What the server lends its strategy half. */
export interface ServerContext {
  readonly config: ServerConfig
  readonly sessions: Sessions
  readonly stats: Stats
  readonly log: Log
  /** a warning at a rate limit */
  readonly warn: (message: string) => void
  readonly fork: Fork
  /** how long a user connection may wait for a way through */
  readonly userWaitMillis: number
}

/** The server half of a strategy. */
export interface ServerChannels {
  /** what the Welcome announces: channels to keep ready or sessions to open, and the mux frame size */
  readonly welcome: { readonly poolSize: number; readonly maxFrame: number }
  /** a data channel of session `sessionId` passed its handshake; false when it cannot be used */
  readonly admit: (sessionId: string, channel: Channel, id: DataChannelId) => boolean
  /** carries one user connection that arrived on `port` */
  readonly serve: (user: Conn, port: UserPort) => void
  /** every control heartbeat */
  readonly tick: () => void
  /** the server is stopping, before its listeners close: say goodbye where the strategy can */
  readonly shutdown: () => void
  /** ways through ready now (idle data channels, or mux sessions) */
  readonly readyCount: () => number
  /** user connections waiting for one */
  readonly waiting: () => number
}

/** The live control session, as data channels and mux sessions of the client join it. */
export interface ClientSession {
  readonly id: Buffer
  /** the last data-channel counter used (each channel or mux session takes the next) */
  counter: number
  /** data channels and mux sessions joined to it, until they close: reset if the server is declared dead */
  readonly joined: Set<Conn>
  /** removes a closed connection from `joined` (one function per session, none per connection) */
  readonly forget: (conn: Conn) => void
  /** pooled: data channels opening or idle (waiting for a Connect), bounded against a server asking for too many */
  idle: number
  /** pooled: open data channels waiting for a Connect, closed when the session ends (busy ones finish) */
  readonly waiting: Set<Conn>
}

/** What the client lends its strategy half. */
export interface ClientContext {
  readonly config: ClientConfig
  readonly carrier: CarrierShape
  /** where targets are dialed */
  readonly network: NetworkShape
  /** the server's target strings already parsed (a server names the same few over and over) */
  readonly parsedTargets: Map<string, Either.Either<HostPort, string>>
  readonly transport: ClientConfig["transport"]
  readonly stats: Stats
  /** owns every socket, so closing the client closes them all */
  readonly owned: Owned
  readonly fork: Fork
  readonly log: Log
  readonly warn: (message: string) => void
  /** the live session, if any */
  readonly session: () => ClientSession | undefined
}

/** The Welcome's settings, as the client half needs them. */
export type Welcome = Extract<Frame, { readonly _tag: "Welcome" }>

/** The client half of a strategy. */
export interface ClientChannels {
  /** the server asked for `count` more data channels */
  readonly openData: (count: number) => void
  /** runs for the life of one control session (in its scope), from its Welcome on */
  readonly session: (welcome: Welcome) => Effect.Effect<void, never, Scope.Scope>
}

/** A channel strategy: both halves. */
export interface ChannelStrategy {
  readonly name: "pooled" | "streams"
  readonly server: (ctx: ServerContext) => Effect.Effect<ServerChannels, never, Scope.Scope>
  readonly client: (ctx: ClientContext) => Effect.Effect<ClientChannels, never, Scope.Scope>
}
