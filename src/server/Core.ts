/**
 * The tunnel side of a server: the listener on `bind_addr` (through the transport's carrier), the
 * handshake that admits control and data channels, the live client sessions and the channel strategy
 * that carries user connections. The user ports are not part of it (`PortTable`): a reload that changes
 * tunnel settings starts a new core beside the ports, and the old one drains.
 *
 * The listener lives in a scope of its own, and the connections it accepts belong to the core's owner:
 * so the core can stop accepting (a drain, a reload freeing `bind_addr`) while live connections finish.
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { formatHostPort, type HostPort, type ServerConfig } from "../config/Config.ts"
import type { Done } from "../net/Callback.ts"
import { deadline } from "../net/Deadline.ts"
import * as Owned from "../net/Owned.ts"
import * as Handshake from "../protocol/Handshake.ts"
import type * as P from "../protocol/Protocol.ts"
import type { Stats } from "../tunnel/Stats.ts"
import type { Fork, ServerChannels } from "../transport/Channels.ts"
import type { Channel, TransportError, TransportShape } from "../transport/Transport.ts"
import * as Log from "../util/Log.ts"
import * as AuthLimiter from "./AuthLimiter.ts"
import * as ControlSession from "./ControlSession.ts"
import * as Refusals from "./Refusals.ts"
import { type LiveSession, Sessions } from "./Sessions.ts"

/** Tuning the config file does not expose. */
export interface ServerTuning {
  /** how long a user connection waits for a way through before it is closed */
  readonly userWaitMillis: number
  /** failed handshakes per address per minute before that address is refused */
  readonly authFailuresPerMinute: number
}

export const defaultTuning: ServerTuning = { userWaitMillis: 5_000, authFailuresPerMinute: 10 }

/** A running tunnel side. */
export interface Core {
  readonly config: ServerConfig
  readonly tunnelAddress: HostPort
  readonly sessions: Sessions
  readonly channels: ServerChannels
  /** connections accepted on the tunnel port and still open */
  readonly open: () => number
  /** stops accepting on `bind_addr`; live connections go on */
  readonly stopListening: Effect.Effect<void>
  /** binds `bind_addr` again after `stopListening` (a reload that failed to start the new core) */
  readonly listenAgain: Effect.Effect<void, TransportError>
  /** tells every live client session goodbye (`reason`), then lets the strategy wind down */
  readonly goodbye: (reason: string) => void
}

/** Starts a core for the life of the scope. */
export const make = (
  config: ServerConfig,
  transport: TransportShape,
  stats: Stats,
  tuning: ServerTuning
): Effect.Effect<Core, TransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const sessions = new Sessions(config.max_clients)
    const limiter = AuthLimiter.make({ maxFailures: tuning.authFailuresPerMinute, windowMillis: 60_000 })
    const log = yield* Log.make
    const warn = Log.rateLimited(log, LogLevel.Warning)
    const refusals = Refusals.make({ limiter, log, stats, transport: transport.name })
    const fork: Fork = yield* FiberSet.makeRuntime<never, void, never>()
    const owned = yield* Owned.make
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

    // Per tunnel connection: callbacks only. A control channel gets a fiber (one per client session); a
    // data channel goes to the channel strategy and is owned by the core until it closes.
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

    const scope = yield* Effect.scope
    let listening: Scope.CloseableScope | undefined
    const listen = Effect.gen(function*() {
      const inner = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const address = yield* transport.carrier.listen(config.bind_addr, onChannel, owned).pipe(
        Scope.extend(inner),
        Effect.onError((cause) => Scope.close(inner, Exit.failCause(cause)))
      )
      listening = inner
      return address
    })
    const tunnelAddress = yield* listen
    // runs before the owner closes the connections: say goodbye where the strategy can
    yield* Effect.addFinalizer(() => Effect.sync(channels.shutdown))
    yield* Effect.logInfo(`tunnel listening on ${formatHostPort(tunnelAddress)} (transport ${config.transport})`)
    return {
      config,
      tunnelAddress,
      sessions,
      channels,
      open: owned.size,
      stopListening: Effect.suspend(() => {
        const inner = listening
        listening = undefined
        return inner === undefined ? Effect.void : Scope.close(inner, Exit.void)
      }),
      listenAgain: Effect.asVoid(listen),
      goodbye: (reason) => {
        for (const session of sessions.live) session.close(reason)
        channels.shutdown()
      }
    }
  })
