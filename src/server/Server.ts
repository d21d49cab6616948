/**
 * The server role: a tunnel side (`Core`: the listener on `bind_addr`, the handshake, the client sessions,
 * the channel strategy) and the user ports (`PortTable`), which do not depend on a client being connected
 * and stay bound across client reconnects — and across reloads: `reload` binds added ports, unbinds
 * removed ones and retargets changed ones in place, and when tunnel settings changed it starts a new core
 * and lets the old one drain (its live connections finish; its clients reconnect to the new one).
 * `drain` is the graceful stop: no new connections, goodbye to the clients, live connections get
 * `drain_timeout` to finish.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type { HostPort, ServerConfig } from "../config/Config.ts"
import { changedKeys } from "../config/Diff.ts"
import { Network } from "../net/Network.ts"
import * as Owned from "../net/Owned.ts"
import * as Feed from "../tunnel/Feed.ts"
import * as Stats from "../tunnel/Stats.ts"
import { Transport, type TransportError } from "../transport/Transport.ts"
import { waitIdle } from "../util/WaitIdle.ts"
import * as Core from "./Core.ts"
import { PortTable } from "./PortTable.ts"

export type { ServerTuning } from "./Core.ts"

/** A live client session, as the host program sees it. */
export interface SessionInfo {
  readonly id: string
  /** the client's address (`host:port`) */
  readonly client: string
  readonly since: Date
}

/** What a running server is doing now. */
export interface ServerStatus {
  /** live client sessions, oldest first */
  readonly sessions: ReadonlyArray<SessionInfo>
}

/** A change of the server's status. */
export type ServerEvent =
  | { readonly _tag: "SessionStarted"; readonly session: SessionInfo }
  /** `dead`: the client went silent and its connections were reset; otherwise it left or was replaced */
  | { readonly _tag: "SessionEnded"; readonly session: SessionInfo; readonly dead: boolean }

const applyEvent = (status: ServerStatus, event: ServerEvent): ServerStatus => ({
  sessions: event._tag === "SessionStarted"
    ? [...status.sessions, event.session]
    : status.sessions.filter((s) => s.id !== event.session.id)
})

/** What a running server shows the tests and the benchmark, read synchronously. @internal */
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
  /** the address the tunnel listens on */
  readonly tunnelAddress: HostPort
  /** live sessions; follow `status.changes` for every change */
  readonly status: SubscriptionRef.SubscriptionRef<ServerStatus>
  /** sessions starting and ending, from the moment the stream starts running */
  readonly events: Stream.Stream<ServerEvent>
  /** subscribes now, for the life of the scope: the stream misses nothing from this moment on */
  readonly subscribe: Effect.Effect<Stream.Stream<ServerEvent>, never, Scope.Scope>
  /** the connection counters now */
  readonly counters: Effect.Effect<Stats.Counters>
  /** @internal the live counters (mutated in place) */
  readonly stats: Stats.Stats
  /** @internal */
  readonly hub: ServerView
  /** applies a changed config (see the module's header); says what changed, or fails and changes nothing */
  readonly reload: (next: ServerConfig) => Effect.Effect<string, ReloadError>
  /** stops accepting, says goodbye, waits up to `drain_timeout` for live connections to finish */
  readonly drain: Effect.Effect<void>
}

/** A reload that could not be applied; the running config is untouched. */
export class ReloadError extends Schema.TaggedError<ReloadError>()("ReloadError", { detail: Schema.String }) {
  get message() {
    return this.detail
  }
}

/** Keys a reload applies without touching the tunnel side. */
const inPlace = new Set(["ports", "log_level", "drain_timeout", "max_clients"])

/** The running server as a service. */
export class Server extends Context.Tag("backhaul/Server")<Server, RunningServer>() {}

/** Builds the transport a reloaded config names (the embedding program's choice: `Tunnel` passes it). */
export type TransportFor = (config: ServerConfig) => Layer.Layer<Transport, unknown, Network>

/** Starts a server for the life of the scope. */
export const make = (
  config: ServerConfig,
  tuning: Core.ServerTuning = Core.defaultTuning,
  transportFor?: TransportFor
): Effect.Effect<RunningServer, TransportError, Transport | Network | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const network = yield* Network
    const stats = Stats.make()
    const feed = yield* Feed.make<ServerStatus, ServerEvent>({ sessions: [] }, applyEvent)
    const watch = (core: Core.Core) => {
      const known = new Map<string, SessionInfo>()
      core.sessions.watch({
        installed: (s) => {
          const session: SessionInfo = { id: s.id, client: s.remote, since: new Date() }
          known.set(s.id, session)
          feed.emit({ _tag: "SessionStarted", session })
        },
        uninstalled: (s, dead) => {
          const session = known.get(s.id)
          if (session === undefined) return
          known.delete(s.id)
          feed.emit({ _tag: "SessionEnded", session, dead })
        }
      })
      return core
    }
    const users = yield* Owned.make
    let running = config
    // each core in a scope of its own, so a reload can close an old one alone
    let coreScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    let core = watch(yield* Core.make(config, yield* Transport, stats, tuning).pipe(Scope.extend(coreScope)))
    const socketOptions = { nodelay: config.nodelay, keepaliveSeconds: config.keepalive_period }
    const table = new PortTable(network, scope, socketOptions, users, (user, port) => core.channels.serve(user, port))
    const first = yield* table.update(config.ports)
    yield* Effect.logInfo(`user ports: ${first.bound} of ${first.added} listening, for ${config.ports.length} mapping(s)`)

    /** a new tunnel side for `next`; the old one stops accepting, says goodbye and drains in the background */
    const restartCore = (next: ServerConfig, why: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (transportFor === undefined) {
          return yield* new ReloadError({ detail: `${why.join(", ")} changed, and this server's transport was given by the program that embeds it: restart it` })
        }
        const old = core
        const oldScope = coreScope
        const newScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        // bind_addr is freed first (it may be the same); if the new side cannot start, the old binds again
        yield* old.stopListening
        const started = yield* Effect.either(
          Layer.buildWithScope(Layer.provide(transportFor(next), Layer.succeed(Network, network)), newScope).pipe(
            Effect.flatMap((ctx) => Effect.map(Core.make(next, Context.get(ctx, Transport), stats, tuning), watch)),
            Scope.extend(newScope)
          )
        )
        if (started._tag === "Left") {
          yield* Scope.close(newScope, Exit.void)
          yield* Effect.orDie(old.listenAgain)
          const e = started.left as { readonly message?: string }
          return yield* new ReloadError({ detail: `the new tunnel settings did not start (${e.message ?? String(e)}); the old ones keep running` })
        }
        core = started.right
        coreScope = newScope
        old.goodbye("server reloaded its tunnel settings; connect again")
        yield* Effect.forkIn(
          Effect.zipRight(waitIdle(() => old.open() === 0, next.drain_timeout * 1000), Scope.close(oldScope, Exit.void)),
          scope
        )
      })

    const reload = (next: ServerConfig) =>
      Effect.gen(function*() {
        const changed = changedKeys(running, next)
        if (changed.length === 0) return "no change"
        const tunnel = changed.filter((k) => !inPlace.has(k))
        const parts: Array<string> = []
        if (tunnel.length > 0) {
          yield* restartCore(next, tunnel)
          parts.push(`tunnel restarted (${tunnel.join(", ")} changed)`)
        } else if (changed.includes("max_clients")) {
          core.sessions.setMaxClients(next.max_clients)
        }
        if (changed.includes("ports")) {
          const ports = yield* table.update(next.ports).pipe(Effect.mapError((e) => new ReloadError({ detail: e.message })))
          parts.push(`ports: ${ports.added} added, ${ports.removed} removed, ${ports.retargeted} retargeted`)
        }
        running = next
        return parts.length === 0 ? `applied: ${changed.join(", ")}` : parts.join("; ")
      })

    const drain = Effect.gen(function*() {
      const active = stats.active
      yield* table.closeAll()
      yield* core.stopListening
      core.goodbye("server shutting down")
      yield* Effect.logInfo(`shutting down: no new connections; ${active} live connection(s) get ${running.drain_timeout}s to finish`)
      const finished = yield* waitIdle(() => stats.active === 0, running.drain_timeout * 1000)
      yield* finished
        ? Effect.logInfo("shutting down: every connection finished")
        : Effect.logWarning(`shutting down: ${stats.active} connection(s) still open after ${running.drain_timeout}s are closed`)
    })

    const hub: ServerView = {
      get sessionId() {
        return core.sessions.live[0]?.id
      },
      get sessionCount() {
        return core.sessions.size
      },
      get readyCount() {
        return core.channels.readyCount()
      },
      get waiting() {
        return core.channels.waiting()
      }
    }
    return {
      get tunnelAddress(): HostPort {
        return core.tunnelAddress
      },
      status: feed.status,
      events: feed.events,
      subscribe: feed.subscribe,
      counters: Effect.sync(() => Stats.snapshot(stats)),
      stats,
      hub,
      reload: (next: ServerConfig) => Effect.annotateLogs(reload(next), { role: "server" }),
      drain: Effect.annotateLogs(drain, { role: "server" })
    }
  }).pipe(Effect.annotateLogs({ role: "server" }))

/** The server as a layer; it needs a Transport layer (`transportFor` builds the one a reload names). */
export const layer = (config: ServerConfig, tuning?: Core.ServerTuning, transportFor?: TransportFor) =>
  Layer.scoped(Server, make(config, tuning, transportFor))
