/**
 * What the server logs when a client stops cleanly (SIGTERM), on Bun's native sockets from source: no
 * warning (a clean stop is no fault), and the ended mux sessions name the client's address — read before
 * the carrier closed, since Bun forgets a closed socket's peer (they read `?:0`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as BunSource from "../helpers/BunSource.ts"
import * as Processes from "../helpers/Processes.ts"
import { roundTrip } from "../helpers/Sockets.ts"

describe("a client's clean stop, seen by the server", () => {
  it.scopedLive("tcpmux: no warning, and the mux sessions' end names the client's address", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      const common = [`token = "stop"`, `transport = "tcpmux"`, `log_level = "debug"`]
      const dir = Processes.tempFiles({
        "server.toml": ["[server]", `bind_addr = "127.0.0.1:${tunnelPort}"`, ...common, `ports = ["127.0.0.1:${userPort}=127.0.0.1:${echo.port}"]`]
          .join("\n"),
        "client.toml": ["[client]", `remote_addr = "127.0.0.1:${tunnelPort}"`, ...common].join("\n")
      })
      const server = yield* BunSource.start(["-c", join(dir, "server.toml")])
      yield* server.waitFor(/user ports: 1 of 1 listening/)
      const client = yield* BunSource.start(["-c", join(dir, "client.toml")])
      yield* client.waitFor(/connected to/)
      yield* server.waitFor(/session established/)
      // a connection through, so the client's mux sessions are up before it stops
      const payload = Buffer.from("before the stop\n")
      const answer = yield* roundTrip(userPort, payload).pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("10 seconds"))))
      assert.isTrue(answer.equals(payload))
      const before = server.output().length
      assert.strictEqual(yield* client.stop("SIGTERM"), 0, client.output())
      yield* server.waitFor(/client session ended/, 10_000)
      yield* server.waitFor(/mux session from .* ended/, 10_000)
      const after = server.output().slice(before)
      assert.notMatch(after, /level=(WARN|ERROR)/, after)
      assert.match(after, /mux session from 127\.0\.0\.1:\d+ ended/, after)
      assert.notInclude(after, "?:0")
    }))
})
