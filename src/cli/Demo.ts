/**
 * `backhaul demo`: the whole product on loopback with no config file — an echo service as the target, a
 * server and a client joined by the tcp transport, then a greeting and a hashed bulk transfer through the
 * tunnel so a newcomer sees it work in seconds.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes } from "node:crypto"
import { makeClientConfig, makeServerConfig } from "../config/Load.ts"
import * as EchoServer from "../net/EchoServer.ts"
import { freePort } from "../net/FreePort.ts"
import { roundTrip } from "../net/Probe.ts"
import * as Tunnel from "../Tunnel.ts"
import * as Sockets from "./Sockets.ts"

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex").slice(0, 16)

/** Runs the demo; with `hold` it keeps the tunnel up until interrupted. */
export const run = (options: { readonly hold: boolean }) =>
  Effect.scoped(Effect.gen(function*() {
    const echo = yield* EchoServer.make()
    const tunnelPort = yield* freePort()
    const userPort = yield* freePort()
    const token = Redacted.make(randomBytes(12).toString("hex"))
    const server = makeServerConfig({
      bind_addr: { host: "127.0.0.1", port: tunnelPort },
      token,
      ports: [{
        source: `127.0.0.1:${userPort}=127.0.0.1:${echo.port}`,
        bindHost: "127.0.0.1",
        from: userPort,
        to: userPort,
        targetHost: "127.0.0.1",
        targetPort: echo.port
      }]
    })
    const client = makeClientConfig({ remote_addr: { host: "127.0.0.1", port: tunnelPort }, token })
    yield* Console.log(`demo: echo target on 127.0.0.1:${echo.port}, tunnel on 127.0.0.1:${tunnelPort}, user port 127.0.0.1:${userPort}`)
    yield* Layer.buildWithScope(
      Layer.merge(Tunnel.serverLayer(server), Tunnel.clientLayer(client)).pipe(Layer.provide(Sockets.network)),
      yield* Effect.scope
    )
      .pipe(Effect.flatMap((ctx) => Effect.provide(Tunnel.awaitConnected, ctx)))

    const hello = yield* roundTrip(userPort, Buffer.from("hello through backhaul"))
    yield* Console.log(`demo: sent "hello through backhaul", got back "${hello.toString()}"`)

    const bulk = randomBytes(32 * 1024 * 1024)
    const started = Date.now()
    const back = yield* roundTrip(userPort, bulk)
    const seconds = (Date.now() - started) / 1000
    const ok = back.equals(bulk)
    yield* Console.log(
      `demo: 32 MiB echoed through the tunnel in ${seconds.toFixed(2)}s ` +
        `(sha256 ${sha(bulk)} → ${sha(back)}: ${ok ? "equal" : "DIFFERENT"})`
    )
    if (!ok) return yield* Effect.fail(new Error("demo transfer corrupted"))
    if (options.hold) {
      yield* Console.log(`demo: tunnel stays up; try: nc 127.0.0.1 ${userPort}   (Ctrl-C to stop)`)
      return yield* Effect.never
    }
    yield* Console.log("demo: done. Run `backhaul demo --hold` to keep it up, or see README.md to run your own.")
  }))
