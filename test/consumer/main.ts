/**
 * An outside program using the installed `backhaul` package through its public entry point only: a
 * server and a client in this process, an echo target behind the client, and a user connection that
 * sends random bytes through the tunnel and checks the SHA-256 of what comes back. One line per case,
 * naming the runtime; exit 1 on any mismatch, error or timeout. Runs unchanged under Node, Bun and Deno.
 */
import { Cause, Duration, Effect, Either, Layer, Logger, LogLevel, Redacted, type Scope } from "effect"
import { Load, PortMapping, Tunnel } from "backhaul"
import { createHash, randomBytes } from "node:crypto"
import * as net from "node:net"

const PAYLOAD = 4 * 1024 * 1024
const CASE_TIMEOUT = Duration.seconds(20)
const TOTAL_TIMEOUT_MS = 50_000

const runtime = (() => {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } }
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`
  return `node ${process.versions.node}`
})()

const sha256 = (chunks: ReadonlyArray<Uint8Array>) => {
  const h = createHash("sha256")
  for (const c of chunks) h.update(c)
  return h.digest("hex")
}

/** A port nobody listens on right now: bind port 0, read it, close. */
const freePort = Effect.async<number, Error>((resume) => {
  const server = net.createServer()
  server.on("error", (e) => resume(Effect.fail(e)))
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** An echo service (half-close aware) on a free port, for the life of the scope. */
const echoTarget = Effect.acquireRelease(
  Effect.async<net.Server, Error>((resume) => {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => socket.destroy())
      socket.pipe(socket)
    })
    server.on("error", (e) => resume(Effect.fail(e)))
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.sync(() => server.close())
).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

/** Sends `payload` to port, half-closes, and collects every byte that comes back until the peer ends. */
const roundTrip = (port: number, payload: Uint8Array) =>
  Effect.async<ReadonlyArray<Uint8Array>, Error>((resume) => {
    const received: Array<Uint8Array> = []
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true })
    socket.on("connect", () => socket.end(payload))
    socket.on("data", (chunk: Uint8Array) => received.push(chunk))
    socket.on("end", () => {
      socket.end()
      resume(Effect.succeed(received))
    })
    socket.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => socket.destroy())
  })

const mapping = (text: string) =>
  Either.getOrElse(PortMapping.parsePortMapping(text), (problem) => {
    throw new Error(`bad port mapping ${text}: ${problem}`)
  })

/** One tunnel over real loopback TCP, one payload through it. */
const tcpCase = Effect.gen(function*() {
  const target = yield* echoTarget
  const tunnelPort = yield* freePort
  const userPort = yield* freePort
  const token = Redacted.make("consumer-secret")
  const server = Load.makeServerConfig({
    bind_addr: { host: "127.0.0.1", port: tunnelPort },
    transport: "tcp",
    token,
    ports: [mapping(`127.0.0.1:${userPort}=127.0.0.1:${target}`)]
  })
  const client = Load.makeClientConfig({ remote_addr: { host: "127.0.0.1", port: tunnelPort }, transport: "tcp", token })
  yield* Layer.launch(Tunnel.serverLayer(server)).pipe(Effect.forkScoped)
  const context = yield* Layer.build(Tunnel.clientLayer(client))
  yield* Tunnel.awaitConnected.pipe(Effect.provide(context))
  return yield* roundTrip(userPort, payload)
})

const payload = randomBytes(PAYLOAD)
const expected = sha256([payload])

const check = (name: string, carry: Effect.Effect<ReadonlyArray<Uint8Array>, unknown, Scope.Scope>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const received = yield* carry.pipe(
      Effect.scoped,
      Effect.timeoutFail({ duration: CASE_TIMEOUT, onTimeout: () => new Error(`no answer within ${Duration.format(CASE_TIMEOUT)}`) }),
      Effect.mapError((e) => `${runtime} ${name}: FAILED: ${e instanceof Error ? e.message : String(e)}`)
    )
    const bytes = received.reduce((n, c) => n + c.length, 0)
    const got = sha256(received)
    if (got !== expected) {
      return yield* Effect.fail(`${runtime} ${name}: FAILED: sent ${PAYLOAD} bytes sha256 ${expected}, got ${bytes} bytes sha256 ${got}`)
    }
    console.log(`${runtime} ${name}: ok, ${bytes} bytes back, sha256 ${got.slice(0, 16)} matches (${Date.now() - started} ms)`)
  })

// the tunnel's own info lines stay out of the result lines; its warnings and errors still show
const program = Effect.all([check("tcp", tcpCase)], { discard: true }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))

// a hard stop in case something ignores interruption
const deadline = setTimeout(() => {
  console.error(`${runtime}: FAILED: still running after ${TOTAL_TIMEOUT_MS} ms`)
  process.exit(1)
}, TOTAL_TIMEOUT_MS)

Effect.runPromiseExit(program).then((exit) => {
  clearTimeout(deadline)
  if (exit._tag === "Failure") {
    const failure = Cause.failureOption(exit.cause)
    console.error(failure._tag === "Some" ? failure.value : `${runtime}: FAILED: ${Cause.pretty(exit.cause)}`)
    process.exit(1)
  }
  process.exit(0)
})
