/**
 * Runs real servers and clients in-process on loopback, each in its own child scope so a test can stop
 * and restart either side independently.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import type { ClientConfig, PortMapping, ServerConfig } from "../../src/config/Config.ts"
import { makeClientConfig, makeServerConfig } from "../../src/config/Load.ts"
import { Client, type RunningClient } from "../../src/client/Client.ts"
import { Server, type RunningServer, type ServerTuning } from "../../src/server/Server.ts"
import type { Network } from "../../src/net/Network.ts"
import * as Tcp from "../../src/net/Tcp.ts"
import * as Tunnel from "../../src/Tunnel.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"

// lifecycle chatter off; warnings and errors still show up next to a failing test
const quiet = Logger.minimumLogLevel(LogLevel.Warning)

/** A running endpoint and how to stop it. */
export interface Running<A> {
  readonly value: A
  readonly stop: Effect.Effect<void>
}

const start = <A, I, E>(layer: Layer.Layer<I, E, Network>, tag: Context.Tag<I, A>, logs?: Array<string>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const ctx = yield* Layer.buildWithScope(layer.pipe(Layer.provide(Tcp.layer())), scope).pipe(Effect.provide(logs === undefined ? quiet : recordTo(logs)))
    return { value: Context.get(ctx, tag), stop: Scope.close(scope, Exit.void) } as Running<A>
  })

/** Every message at warning level or worse goes to `lines` as "LEVEL message", and to nowhere else. */
const recordTo = (lines: Array<string>) =>
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
        lines.push(`${logLevel.label} ${text}`)
      })
    ),
    quiet
  )

/** Starts a server (in-process, on loopback); `logs` collects its warnings and errors. */
export const startServer = (config: ServerConfig, tuning?: ServerTuning, logs?: Array<string>) =>
  start(Tunnel.serverLayerTuned(config, tuning), Server, logs) as Effect.Effect<Running<RunningServer>, unknown, Scope.Scope>

/** Starts a client and waits until its session is up (unless `wait` is false); `logs` collects its warnings. */
export const startClient = (config: ClientConfig, wait = true, logs?: Array<string>) =>
  Effect.tap(
    start(Tunnel.clientLayer(config), Client, logs) as Effect.Effect<Running<RunningClient>, unknown, Scope.Scope>,
    (c) => wait ? Effect.provideService(Tunnel.awaitConnected, Client, c.value) : Effect.void
  )

/** A one-port mapping on loopback. */
export const mapping = (listenPort: number, targetPort: number, targetHost = "127.0.0.1"): PortMapping => ({
  source: `127.0.0.1:${listenPort}=${targetHost}:${targetPort}`,
  bindHost: "127.0.0.1",
  from: listenPort,
  to: listenPort,
  targetHost,
  targetPort
})

/** Server config for tests: loopback, fast heartbeats. */
export const serverConfig = (
  tunnelPort: number,
  ports: ReadonlyArray<PortMapping>,
  overrides: Partial<ServerConfig> = {}
): ServerConfig =>
  makeServerConfig({
    bind_addr: { host: "127.0.0.1", port: tunnelPort },
    ports,
    token: Redacted.make("test-secret"),
    heartbeat: 1,
    log_level: "warn",
    ...overrides
  })

/** Client config for tests: loopback, fast heartbeats and reconnects. */
export const clientConfig = (tunnelPort: number, overrides: Partial<ClientConfig> = {}): ClientConfig =>
  makeClientConfig({
    remote_addr: { host: "127.0.0.1", port: tunnelPort },
    token: Redacted.make("test-secret"),
    heartbeat: 1,
    retry_interval: 0.2,
    log_level: "warn",
    ...overrides
  })

/** Polls `check` every 50 ms until it holds or `timeoutMs` passes. */
export const eventually = (check: () => boolean, timeoutMs = 10_000): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (check()) return true
      yield* Effect.sleep(50)
    }
    return check()
  })

/** An echo target and two free loopback ports (tunnel, user): how most end-to-end tests start. */
export const echoSetup = Effect.all({ echo: EchoServer.make(), tunnelPort: freePort(), userPort: freePort() })

/** The stream transports, each with what its configs need. */
export const streamTransports = ["tcp", "tcpmux", "ws", "wsmux", "wss", "wssmux"] as const
export type StreamTransport = (typeof streamTransports)[number]

/** Whether a transport multiplexes streams over `mux_session` carrier connections. */
export const isMux = (transport: StreamTransport): boolean => transport.endsWith("mux")

/**
 * Config overrides for a transport on both sides; TLS transports get `certs` (the server's pair, the
 * client trusting it as its CA).
 */
export const transportConfigs = (
  transport: StreamTransport,
  certs?: { readonly cert: string; readonly key: string }
): { readonly server: Partial<ServerConfig>; readonly client: Partial<ClientConfig> } => {
  if (transport !== "wss" && transport !== "wssmux") return { server: { transport }, client: { transport } }
  if (certs === undefined) throw new Error(`transport ${transport} needs a certificate pair`)
  return {
    server: { transport, tls_cert: certs.cert, tls_key: certs.key },
    client: { transport, tls_ca: certs.cert }
  }
}
