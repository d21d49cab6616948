/**
 * User ports that cannot be bound: one line per run of ports failing for the same reason (not one per
 * port), retried until they can be; and a set of ports wider than the file descriptor limit refused at
 * start with one line saying what to raise, instead of binding until descriptors run out.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as net from "node:net"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as BunSource from "../helpers/BunSource.ts"
import { clientConfig, serverConfig, startClient, startServer } from "../helpers/Harness.ts"
import * as Processes from "../helpers/Processes.ts"
import { roundTrip } from "../helpers/Sockets.ts"

const listenOn = (port: number) =>
  Effect.async<net.Server | undefined>((resume) => {
    const server = net.createServer()
    server.once("error", () => resume(Effect.succeed(undefined)))
    server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
  })

const closeAll = (servers: ReadonlyArray<net.Server | undefined>) =>
  Effect.promise(() => Promise.all(servers.map((s) => new Promise<void>((r) => (s ? s.close(() => r()) : r())))))

/** `count` consecutive loopback ports held by other listeners, and how to let them go. */
const heldRange = (count: number) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 20; attempt++) {
      const base = 20_000 + Math.floor(Math.random() * 30_000)
      const servers = yield* Effect.forEach(Array.from({ length: count }, (_, i) => base + i), listenOn)
      if (servers.every((s) => s !== undefined)) return { base, release: closeAll(servers) }
      yield* closeAll(servers)
    }
    return yield* Effect.die(new Error(`no ${count} consecutive free ports found`))
  })

describe("user ports that cannot be bound", () => {
  it.scopedLive("a range in use is one line, and its ports are retried until they are free", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const tunnelPort = yield* freePort()
      const held = yield* heldRange(5)
      const last = held.base + 4
      const logs: Array<string> = []
      const mapping = {
        source: `127.0.0.1:${held.base}-${last}=127.0.0.1:${echo.port}`,
        bindHost: "127.0.0.1",
        from: held.base,
        to: last,
        targetHost: "127.0.0.1",
        targetPort: echo.port
      }
      yield* startServer(serverConfig(tunnelPort, [mapping]), undefined, logs)
      const errors = logs.filter((l) => l.startsWith("ERROR"))
      assert.deepStrictEqual(errors, [
        `ERROR cannot listen on 127.0.0.1:${held.base}-${last} (5 ports): address already in use (another process listens on it); retrying every 10s`
      ])
      yield* startClient(clientConfig(tunnelPort))
      yield* held.release
      // the retry comes within 10 s; then the range carries traffic
      const payload = Buffer.from("through a port bound at last\n")
      const answer = yield* roundTrip(held.base + 2, payload).pipe(
        Effect.retry(Schedule.spaced("500 millis").pipe(Schedule.upTo("15 seconds")))
      )
      assert.isTrue(answer.equals(payload))
      assert.strictEqual(logs.filter((l) => l.startsWith("ERROR")).length, 1, logs.join("\n"))
    }))

  it.scopedLive("ports beyond the file descriptor limit: one line naming the limit and what to raise, exit 1", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const dir = Processes.tempFiles({
        "server.toml": [
          "[server]",
          `bind_addr = "127.0.0.1:${tunnelPort}"`,
          `token = "x"`,
          `ports = ["127.0.0.1:41000-41399=127.0.0.1:9"]`
        ].join("\n")
      })
      // Bun's native sockets, as in the binary: 400 listeners under a limit of 256
      const server = yield* BunSource.startLimited(256, ["-c", join(dir, "server.toml")])
      const code = yield* server.done.pipe(Effect.timeout("20 seconds"))
      const out = server.output()
      assert.strictEqual(code, 1, out)
      const lines = out.trim().split("\n")
      assert.isAtMost(lines.length, 3, out)
      assert.match(lines.at(-1)!, /^backhaul: Listen 400 user ports: need about \d+ file descriptors \(400 listeners \+ \d+ open now \+ \d+ for connections\), but this process may open 256: raise the limit, e\.g\. `ulimit -n \d+` in the shell that starts it, or `LimitNOFILE=\d+` in its systemd unit$/)
    }))
})
