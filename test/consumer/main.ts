/**
 * An outside program using the installed `backhaul` package through its public entry point only: a
 * server and a client in this process, an echo target served through backhaul's `Network`, and a user
 * connection that sends 4 MiB of random bytes through the tunnel and checks the SHA-256 of what comes
 * back — once over real loopback TCP and once over the in-memory network. One line per case, naming the
 * runtime; exit 1 on any mismatch, error or timeout. Runs unchanged under Node, Bun and Deno.
 */
import { Cause, Duration, Effect, Fiber, Layer, Logger, LogLevel, Stream } from "effect"
import { Config, Network, Tunnel } from "backhaul"
import { createHash, randomBytes } from "node:crypto"
import * as net from "node:net"

const PAYLOAD = 4 * 1024 * 1024
const CHUNK = 64 * 1024
const CASE_TIMEOUT = Duration.seconds(20)
const TOTAL_TIMEOUT_MS = 50_000
const token = "consumer-secret"

const runtime = (() => {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } }
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`
  return `node ${process.versions.node}`
})()

/** A loopback port nobody listens on right now: bind port 0, read it, close. */
const freePort = Effect.async<number, Error>((resume) => {
  const server = net.createServer()
  server.on("error", (e) => resume(Effect.fail(e)))
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Whether a real TCP connect to the loopback port gets an answer (the in-memory case must see none). */
const realListener = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.on("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.on("error", () => resume(Effect.succeed(false)))
    return Effect.sync(() => socket.destroy())
  })

/** The target: every byte back, then our end once the peer has ended. */
const echo = (connection: Network.Connection) =>
  connection.read.pipe(
    Stream.runForEach((bytes) => connection.write(bytes)),
    Effect.zipRight(connection.end)
  )

/** The user: sends the payload, half-closes, and hashes what comes back until the peer ends. */
const roundTrip = (address: string, payload: Uint8Array) =>
  Effect.gen(function*() {
    const connection = yield* Network.open(address)
    const reader = yield* connection.read.pipe(
      Stream.runFold({ bytes: 0, hash: createHash("sha256") }, (acc, chunk) => {
        acc.hash.update(chunk)
        return { bytes: acc.bytes + chunk.length, hash: acc.hash }
      }),
      Effect.fork
    )
    for (let at = 0; at < payload.length; at += CHUNK) yield* connection.write(payload.subarray(at, at + CHUNK))
    yield* connection.end
    const { bytes, hash } = yield* Fiber.join(reader)
    return { bytes, sha256: hash.digest("hex") }
  })

interface Ports {
  readonly tunnel: number
  readonly user: number
}

/**
 * A whole tunnel on the network provided: target, server, client, then one payload through it. Unless
 * `real`, the tunnel and user ports must stay invisible to real sockets meanwhile.
 */
const carry = (ports: Ports, payload: Uint8Array, real: boolean) =>
  Effect.gen(function*() {
    const target = yield* Network.serve({ host: "127.0.0.1", port: 0 }, echo)
    const serverConfig = yield* Config.server({
      bind_addr: `127.0.0.1:${ports.tunnel}`,
      transport: "tcp",
      token,
      ports: [`127.0.0.1:${ports.user}=127.0.0.1:${target.port}`]
    })
    const clientConfig = yield* Config.client({ remote_addr: `127.0.0.1:${ports.tunnel}`, transport: "tcp", token })
    yield* Layer.build(Tunnel.serverLayer(serverConfig))
    const client = yield* Layer.build(Tunnel.clientLayer(clientConfig))
    yield* Tunnel.awaitConnected.pipe(Effect.provide(client))
    for (const port of real ? [] : [ports.tunnel, ports.user]) {
      if (yield* realListener(port)) return yield* Effect.fail(new Error(`port ${port} is listening on real loopback`))
    }
    return yield* roundTrip(`127.0.0.1:${ports.user}`, payload)
  })

// both cases take ports free on real loopback: the in-memory one then checks that nothing binds them
// and the backend is the layer's choice, not the process's: under Bun, the first case runs on Bun's native
// sockets and the "tcp node:net" one on node:net, in the same process
const cases = [
  { name: "tcp", network: Network.tcp, real: true },
  { name: "memory", network: Network.memory, real: false },
  { name: "tcp node:net", network: Network.tcpWith({ backend: "node" }), real: true }
] as const

const payload = randomBytes(PAYLOAD)
const expected = createHash("sha256").update(payload).digest("hex")

const check = (c: (typeof cases)[number]) =>
  Effect.gen(function*() {
    const started = Date.now()
    const ports = yield* Effect.all({ tunnel: freePort, user: freePort })
    // one network instance for the server, the client, the target and the user alike
    const got = yield* carry(ports, payload, c.real).pipe(Effect.provide(c.network), Effect.scoped)
    if (got.sha256 !== expected || got.bytes !== PAYLOAD) {
      return yield* Effect.fail(
        new Error(`sent ${PAYLOAD} bytes sha256 ${expected}, got ${got.bytes} bytes sha256 ${got.sha256}`)
      )
    }
    console.log(`${runtime} ${c.name}: ok, ${got.bytes} bytes back, sha256 ${got.sha256.slice(0, 16)} matches (${Date.now() - started} ms)`)
  }).pipe(
    Effect.timeoutFail({ duration: CASE_TIMEOUT, onTimeout: () => new Error(`no answer within ${Duration.format(CASE_TIMEOUT)}`) }),
    Effect.mapError((e) => `${runtime} ${c.name}: FAILED: ${e instanceof Error ? e.message : String(e)}`)
  )

// the tunnel's own info lines stay out of the result lines; its warnings and errors still show
const program = Effect.forEach(cases, check, { discard: true }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))

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
