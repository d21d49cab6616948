/**
 * The client role: keeps one control session with the server, reconnecting on a jittered, capped backoff
 * that starts at `retry_interval` and resets after every healthy session (retry the connect, repeat the
 * session). How user connections reach it is the transport's channel strategy: pooled data channels the
 * server asks for with `OpenData`, or multiplexer sessions opened for the session's life. Connections
 * that are piping outlive the session that opened them, so a control hiccup never cuts them.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { formatHostPort, type ClientConfig } from "../config/Config.ts"
import * as Control from "../protocol/Control.ts"
import * as Handshake from "../protocol/Handshake.ts"
import { ProtocolError } from "../protocol/Protocol.ts"
import * as Schedules from "../tunnel/Schedules.ts"
import * as Feed from "../tunnel/Feed.ts"
import * as Stats from "../tunnel/Stats.ts"
import type { ClientContext, ClientSession } from "../transport/Channels.ts"
import { dial, Transport } from "../transport/Transport.ts"
import * as Log from "../util/Log.ts"
import { Network } from "../net/Network.ts"
import * as Owned from "../net/Owned.ts"
import * as Attempt from "../util/Attempt.ts"
import type { Conn } from "../net/Conn.ts"
import * as Auth from "../protocol/Auth.ts"
import { waitIdle } from "../util/WaitIdle.ts"
import * as Welcome from "./Welcome.ts"

/** What a running client is doing now. */
export interface ClientStatus {
  readonly connected: boolean
  /** the live session's id, while connected */
  readonly session: string | undefined
  /** when the live session started, while connected */
  readonly since: Date | undefined
}

/** A change of the client's status. */
export type ClientEvent =
  | { readonly _tag: "Connected"; readonly session: string; readonly server: string }
  | { readonly _tag: "Disconnected"; readonly session: string; readonly reason: string }

const applyEvent = (_status: ClientStatus, event: ClientEvent): ClientStatus =>
  event._tag === "Connected"
    ? { connected: true, session: event.session, since: new Date() }
    : { connected: false, session: undefined, since: undefined }

/** A running client, for the program that embeds it. */
export interface RunningClient {
  /** true while a control session is up; changes can be awaited (`.changes`) */
  readonly connected: SubscriptionRef.SubscriptionRef<boolean>
  /** the session, if any; follow `status.changes` for every change */
  readonly status: SubscriptionRef.SubscriptionRef<ClientStatus>
  /** sessions starting and ending, from the moment the stream starts running */
  readonly events: Stream.Stream<ClientEvent>
  /** subscribes now, for the life of the scope: the stream misses nothing from this moment on */
  readonly subscribe: Effect.Effect<Stream.Stream<ClientEvent>, never, Scope.Scope>
  /** the connection counters now */
  readonly counters: Effect.Effect<Stats.Counters>
  /** @internal the live counters (mutated in place) */
  readonly stats: Stats.Stats
  /** ends the session (Goodbye) and waits up to `drain_timeout` for live connections to finish */
  readonly drain: Effect.Effect<void>
}

/** The running client as a service. */
export class Client extends Context.Tag("backhaul/Client")<Client, RunningClient>() {}

/** Destroys every data channel and mux session of `session` (their target connections follow). */
const resetAll = (session: ClientSession): void => closeAll(session.joined)

const closeAll = (conns: Set<Conn>): void => {
  const all = [...conns]
  conns.clear()
  for (const conn of all) conn.destroy()
}

/** Says Goodbye on the control channel and half-closes it; waits (briefly) for the server to close it. */
const goodbye = (channel: Conn, reason: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (channel.closed) return resume(Effect.void)
    const closed = () => resume(Effect.void)
    channel.onClose(closed)
    Handshake.sendFrame(channel, { _tag: "Goodbye", reason })
    channel.end()
    return Effect.sync(() => channel.offClose(closed))
  }).pipe(
    // this runs while the session is being interrupted (uninterruptibly): the wait must be made
    // interruptible again, or the timeout could never cut it short
    Effect.interruptible,
    Effect.timeoutTo({ duration: 500, onSuccess: () => undefined, onTimeout: () => undefined })
  )

/** Starts the client for the life of the scope; it reconnects on its own forever. */
export const make = (config: ClientConfig): Effect.Effect<RunningClient, never, Transport | Network | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const stats = Stats.make()
    const connected = yield* SubscriptionRef.make(false)
    const feed = yield* Feed.make<ClientStatus, ClientEvent>(
      { connected: false, session: undefined, since: undefined },
      applyEvent
    )
    // why the live session ended, for its Disconnected event
    let ended = "session ended"
    const log = yield* Log.make
    let live: ClientSession | undefined
    // who this client process is, the same on every reconnect: the server replaces our own older session
    // instead of counting us twice against its max_clients
    const instance = Auth.newSessionId()
    const context: ClientContext = {
      config,
      carrier: transport.carrier,
      network: yield* Network,
      parsedTargets: new Map(),
      transport: transport.name,
      stats,
      owned: yield* Owned.make,
      fork: yield* FiberSet.makeRuntime<never, void, never>(),
      log,
      warn: Log.rateLimited(log, LogLevel.Warning),
      session: () => live
    }
    const channels = yield* transport.channels.client(context)
    const server = formatHostPort(config.remote_addr)

    if (Redacted.value(config.token) === "") {
      yield* Effect.logWarning("token is empty: the tunnel is unauthenticated. Set the same `token` on both sides.")
    }

    const connect = Attempt.attempt(Effect.gen(function*() {
      const channel = yield* dial(transport.carrier, config.remote_addr)
      const sessionId = yield* Handshake.client(channel, {
        token: config.token,
        transport: transport.name,
        instance
      })
      const welcome = yield* Handshake.readFrame(channel)
      if (welcome._tag !== "Welcome") {
        return yield* new ProtocolError({ reason: "Malformed", detail: `expected Welcome, got ${welcome._tag}` })
      }
      const insane = Welcome.check(welcome)
      if (insane !== undefined) {
        channel.destroy()
        return yield* new ProtocolError({ reason: "Malformed", detail: `refusing the session: ${insane}` })
      }
      return { channel, sessionId, welcome }
    })).pipe(
      Effect.timeoutFail({
        duration: config.dial_timeout * 1000,
        onTimeout: () => new ProtocolError({ reason: "Timeout", detail: `no session within ${config.dial_timeout}s` })
      })
    )

    const session = Effect.gen(function*() {
      const { channel, sessionId, welcome } = yield* connect.pipe(
        Effect.tapError((e) => Effect.logWarning(`cannot connect to ${server}: ${e.message}`)),
        Effect.retry(Schedules.reconnect(`${config.retry_interval} seconds`))
      )
      stats.sessions++
      if (welcome.heartbeatMs !== config.heartbeat * 1000) {
        yield* Effect.logWarning(
          `server heartbeat is ${welcome.heartbeatMs / 1000}s, this client's is ${config.heartbeat}s; using the server's`
        )
      }
      yield* SubscriptionRef.set(connected, true)
      ended = "session ended"
      const id = sessionId.toString("hex")
      feed.emit({ _tag: "Connected", session: id, server })
      yield* Effect.addFinalizer(() => Effect.sync(() => feed.emit({ _tag: "Disconnected", session: id, reason: ended })))
      yield* Effect.logInfo(`connected to ${server} (pool ${welcome.poolSize}, heartbeat ${welcome.heartbeatMs / 1000}s)`)
      const joined = new Set<Conn>()
      const session: ClientSession = {
        id: sessionId,
        counter: 0,
        joined,
        forget: (c) => joined.delete(c),
        idle: 0,
        waiting: new Set()
      }
      // however the session ends, its idle data channels go with it (a real server closes them too; a
      // hostile one would have us hold them): busy ones finish
      yield* Effect.addFinalizer(() => Effect.sync(() => closeAll(session.waiting)))
      live = session
      yield* Effect.forkScoped(channels.session(welcome))
      return yield* Control.run(channel, welcome.heartbeatMs, (frame) => {
        if (frame._tag === "OpenData") channels.openData(frame.count)
      }).pipe(
        Effect.tapError((e) =>
          // the server went silent: every channel of the session is reset, busy ones included, so no
          // target connection outlives a user who is gone and no late request reaches a target
          e.reason === "Timeout" ? Effect.sync(() => resetAll(session)) : Effect.void
        ),
        // stopped (a drain, a reload, the scope closing): tell the server, so it logs a clean end and
        // keeps our live connections, and give the Goodbye a moment to leave before the socket closes
        Effect.onInterrupt(() => goodbye(channel, "client shutting down"))
      )
    }).pipe(
      Effect.tapError((e) => Effect.sync(() => (ended = e.message))),
      Effect.onInterrupt(() => Effect.sync(() => (ended = "client stopped"))),
      Effect.ensuring(Effect.sync(() => (live = undefined))),
      Effect.scoped,
      Effect.catchAll((e) => Effect.logWarning(`session with ${server} ended: ${e.message}; reconnecting`)),
      Effect.ensuring(SubscriptionRef.set(connected, false))
    )

    // retry the connect, repeat the session: a fresh connect follows every session that ends
    const loop = yield* session.pipe(
      Effect.repeat(Schedules.nextSession(`${config.retry_interval} seconds`)),
      Effect.forkScoped
    )
    const drain = Effect.gen(function*() {
      const active = stats.active
      yield* Fiber.interrupt(loop)
      yield* Effect.logInfo(`shutting down: session closed; ${active} live connection(s) get ${config.drain_timeout}s to finish`)
      const finished = yield* waitIdle(() => stats.active === 0, config.drain_timeout * 1000)
      yield* finished
        ? Effect.logInfo("shutting down: every connection finished")
        : Effect.logWarning(`shutting down: ${stats.active} connection(s) still open after ${config.drain_timeout}s are closed`)
    }).pipe(Effect.annotateLogs({ role: "client" }))
    return {
      connected,
      status: feed.status,
      events: feed.events,
      subscribe: feed.subscribe,
      counters: Effect.sync(() => Stats.snapshot(stats)),
      stats,
      drain
    }
  }).pipe(Effect.annotateLogs({ role: "client" }))

/** The client as a layer; it needs a Transport layer. */
export const layer = (config: ClientConfig) => Layer.scoped(Client, make(config))
