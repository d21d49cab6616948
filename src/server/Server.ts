/**
 * The server role: listens for the client on `bind_addr` through the transport's carrier, admits control
 * and data channels with the handshake, and serves the user-facing ports through the transport's channel
 * strategy. User listeners do not depend on a client being connected: they stay bound across client
 * reconnects.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { formatHostPort, type HostPort, type ServerConfig } from "../config/Config.ts"
import type { Done } from "../net/Callback.ts"
import { deadline } from "../net/Deadline.ts"
import * as Handshake from "../protocol/Handshake.ts"
import * as P from "../protocol/Protocol.ts"
import * as Stats from "../tunnel/Stats.ts"
import type { Fork } from "../transport/Channels.ts"
import { type Channel, Transport, type TransportError } from "../transport/Transport.ts"
import * as Log from "../util/Log.ts"
import * as Memory from "../util/Memory.ts"
import * as AuthLimiter from "./AuthLimiter.ts"
import * as ControlSession from "./ControlSession.ts"
import * as Refusals from "./Refusals.ts"
import { type LiveSession, Sessions } from "./Sessions.ts"
import * as UserPorts from "./UserPorts.ts"

/** What a running server shows the program that embeds it. */
export interface ServerView {
  /** the oldest live client session's id, if any */
  readonly sessionId: string | undefined
  /** live client sessions */
  readonly sessionCount: number
  /** ways through ready now: idle data channels (pooled), or mux sessions (streams) */
  readonly readyCount: number
  /** user connections waiting for one */
  readonly waiting: number
}

/** A running server, for the program that embeds it. */
export interface RunningServer {
  /** the address the tunnel listens on (the real port when `bind_addr` used port 0) */
  readonly tunnelAddress: HostPort
  readonly stats: Stats.Stats
  readonly hub: ServerView
}

/** The running server as a service. */
export class Server extends Context.Tag("backhaul/Server")<Server, RunningServer>() {}

/** Tuning the config file does not expose. */
export interface ServerTuning {
  /** how long a user connection waits for a way through before it is closed */
  readonly userWaitMillis: number
  /** failed handshakes per address per minute before that address is refused */
  readonly authFailuresPerMinute: number
}

const defaultTuning: ServerTuning = { userWaitMillis: 5_000, authFailuresPerMinute: 10 }

/** Starts a server for the life of the scope. */
export const make = (
  config: ServerConfig,
  tuning: ServerTuning = defaultTuning
): Effect.Effect<RunningServer, TransportError, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const stats = Stats.make()
    const sessions = new Sessions(config.max_clients)
    const limiter = AuthLimiter.make({ maxFailures: tuning.authFailuresPerMinute, windowMillis: 60_000 })
    const log = yield* Log.make
    const warn = Log.rateLimited(log, LogLevel.Warning)
    const refusals = Refusals.make({ limiter, log, stats, transport: transport.name })
    const fork: Fork = yield* FiberSet.makeRuntime<never, void, never>()
    const socketOptions = { nodelay: config.nodelay, keepaliveSeconds: config.keepalive_period }
    const handshakeMillis = config.dial_timeout * 1000
    const heartbeatMillis = config.heartbeat * 1000
    const channels = yield* transport.channels.server({
      config,
      sessions,
      stats,
      log,
      warn,
      fork,
      userWaitMillis: tuning.userWaitMillis
    })

    if (Redacted.value(config.token) === "") {
      yield* Effect.logWarning("token is empty: ANY client that reaches bind_addr can use this tunnel. Set `token`.")
    }

    const params: Handshake.ServerParams = {
      token: config.token,
      transport: transport.name,
      admitData: (id) => sessions.admit(id),
      // a live session silent for over a heartbeat and a half is likely dead: it gives way to a new client
      admitControl: (instance) => sessions.mayStart(instance.toString("hex"), heartbeatMillis * 1.5 + 1000)
    }

    // Per tunnel connection: callbacks only. A control channel gets a fiber (one per client session); a
    // data channel goes to the channel strategy and is owned by the listener until it closes.
    /** names the client, and every client when several share the token */
    const announce = (session: LiveSession) =>
      Effect.suspend(() => {
        const all = sessions.live
        const line = `client ${session.instance.slice(0, 8)} connected from ${session.remote}`
        if (all.length === 1) return Effect.logInfo(`${line}: session established`)
        const others = all.filter((s) => s !== session).map((s) => `${s.instance.slice(0, 8)} (${s.remote})`)
        return Effect.logInfo(
          `${line}: ${all.length} clients share this token and the user connections now (also ${others.join(", ")}); ` +
            `max_clients = ${config.max_clients}`
        )
      }).pipe(Effect.annotateLogs({ session: session.id.slice(0, 8) }))

    const onChannel = (channel: Channel): void => {
      // the peer's address is asked of the socket only when some address is being limited (a system call)
      const source = () => channel.peer.host
      // a live client's own address is never locked out by garbage from a neighbour behind the same IP
      if (!limiter.idle && !sessions.hasHost(source()) && limiter.blocked(source())) {
        return refusals.lockedOut(channel)
      }
      deadline(
        channel,
        handshakeMillis,
        () => refusals.timeout(channel, `no handshake within ${config.dial_timeout}s`),
        (done: Done<Handshake.Admitted, P.ProtocolError>) => Handshake.serverCb(channel, params, done)
      )((error, admitted) => {
        // read the address, close, count against it and log (per reason)
        if (error) return refusals.refused(channel, error)
        const ok = admitted!
        const id = ok.sessionId.toString("hex")
        if (ok.kind === "control") {
          stats.sessions++
          // installed now, in the tick that admitted it, so `max_clients` cannot be overrun by a race; the
          // Welcome goes first, since installing may already ask for data channels
          Handshake.sendFrame(channel, { _tag: "Welcome", heartbeatMs: heartbeatMillis, ...channels.welcome })
          const session = sessions.install({
            id,
            instance: ok.instance.toString("hex"),
            remote: channel.remote,
            host: source(),
            send: (frame) => Handshake.sendFrame(channel, frame),
            close: (reason) => {
              Handshake.sendFrame(channel, { _tag: "Goodbye", reason })
              channel.end()
            }
          })
          fork(Effect.ensuring(
            Effect.zipRight(announce(session), ControlSession.run(channel, session, sessions, channels, heartbeatMillis)),
            Effect.sync(() => channel.destroy())
          ))
        } else if (sessions.track(id, channel) && channels.admit(id, channel, ok)) {
          stats.channels++
        } else {
          channel.destroy()
        }
      })
    }

    const tunnelAddress = yield* transport.carrier.listen(config.bind_addr, onChannel)
    // registered after the listener, so it runs before the listener closes its connections
    yield* Effect.addFinalizer(() => Effect.sync(channels.shutdown))
    yield* Effect.logInfo(`tunnel listening on ${formatHostPort(tunnelAddress)} (transport ${config.transport})`)
    yield* UserPorts.bindAll(config.ports, socketOptions, channels.serve)
    yield* Effect.forkScoped(Memory.releaseAfterBursts(() => stats.opened))
    const hub: ServerView = {
      get sessionId() {
        return sessions.live[0]?.id
      },
      get sessionCount() {
        return sessions.size
      },
      get readyCount() {
        return channels.readyCount()
      },
      get waiting() {
        return channels.waiting()
      }
    }
    return { tunnelAddress, stats, hub }
  }).pipe(Effect.annotateLogs({ role: "server" }))

/** The server as a layer; it needs a Transport layer. */
export const layer = (config: ServerConfig, tuning?: ServerTuning) => Layer.scoped(Server, make(config, tuning))
