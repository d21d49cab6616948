/**
 * Signals, reload and drain of a running role, as a process on Bun's native sockets (as in the binary):
 * SIGHUP/SIGUSR1/SIGUSR2 never kill it; SIGHUP reloads the file — ports added and removed while an
 * unchanged port's live connection goes on, an invalid file rejected with its problem and the old config
 * kept, changed tunnel settings renewing the session without dropping the user port or its connection;
 * SIGTERM drains: new connections refused, a live one may finish, exit 0; a second signal exits at once.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as BunSource from "../helpers/BunSource.ts"
import { hold } from "../helpers/Holder.ts"
import * as Processes from "../helpers/Processes.ts"
import { connectAndWaitEnd, roundTrip } from "../helpers/Sockets.ts"

const retrying = <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("10 seconds"))))

const through = (port: number, text: string) =>
  Effect.map(retrying(roundTrip(port, Buffer.from(text))), (b) => b.toString())

/** A server and a client from files in a temp dir; `serverToml` is rewritten by the tests. */
const setup = (transport: string, extraServer: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const echo = yield* EchoServer.make()
    const tunnelPort = yield* freePort()
    const ports = { a: yield* freePort(), b: yield* freePort(), c: yield* freePort() }
    const common = [`token = "reload"`, `transport = "${transport}"`, `heartbeat = 2`, `drain_timeout = 5`]
    const serverToml = (lines: ReadonlyArray<string>) =>
      ["[server]", `bind_addr = "127.0.0.1:${tunnelPort}"`, ...common, ...extraServer, ...lines].join("\n")
    const mapping = (p: number) => `"127.0.0.1:${p}=127.0.0.1:${echo.port}"`
    const dir = Processes.tempFiles({
      "server.toml": serverToml([`ports = [${mapping(ports.a)}, ${mapping(ports.c)}]`]),
      "client.toml": ["[client]", `remote_addr = "127.0.0.1:${tunnelPort}"`, ...common].join("\n")
    })
    const serverFile = join(dir, "server.toml")
    const server = yield* BunSource.start(["-c", serverFile])
    yield* server.waitFor(/user ports: 2 of 2 listening/)
    const client = yield* BunSource.start(["-c", join(dir, "client.toml")])
    yield* server.waitFor(/session established/)
    return { server, client, ports, serverFile, serverToml, mapping, clientFile: join(dir, "client.toml"), tunnelPort, common }
  })

describe("signals, reload and drain (Bun, native sockets)", () => {
  it.scopedLive("SIGHUP, SIGUSR1 and SIGUSR2 do not end either side; traffic goes on", () =>
    Effect.gen(function*() {
      const { client, ports, server } = yield* setup("tcp")
      for (const signal of ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
        server.child.kill(signal)
        client.child.kill(signal)
      }
      yield* Effect.sleep(1_000)
      assert.strictEqual(server.child.exitCode, null, server.output())
      assert.strictEqual(client.child.exitCode, null, client.output())
      assert.strictEqual(yield* through(ports.a, "after signals"), "after signals")
    }), 30_000)

  it.scopedLive("SIGHUP applies added and removed ports; a live connection on a kept port goes on; a bad file is rejected", () =>
    Effect.gen(function*() {
      const { ports, server, serverFile, serverToml, mapping } = yield* setup("tcp")
      const held = yield* hold(ports.a)
      assert.strictEqual(yield* held.echo("one"), "one")
      // a is kept, c removed, b added
      writeFileSync(serverFile, serverToml([`ports = [${mapping(ports.a)}, ${mapping(ports.b)}]`]))
      server.child.kill("SIGHUP")
      yield* server.waitFor(/reloaded: ports: 1 added, 1 removed, 0 retargeted/)
      assert.strictEqual(yield* through(ports.b, "added"), "added")
      assert.strictEqual(yield* connectAndWaitEnd(ports.c, 2_000), "reset", "the removed port refuses")
      assert.strictEqual(yield* held.echo("two"), "two")
      // an invalid file: every problem logged with its key and line, the running config kept
      writeFileSync(serverFile, serverToml([`ports = [${mapping(ports.a)}]`, `channel_size = "soon"`]))
      server.child.kill("SIGHUP")
      yield* server.waitFor(/reload rejected, the running config is kept/)
      assert.match(server.output(), /channel_size \(line \d+\)/)
      assert.strictEqual(yield* through(ports.b, "still"), "still")
      assert.strictEqual(yield* held.echo("three"), "three")
      assert.strictEqual(server.child.exitCode, null)
    }), 40_000)

  it.scopedLive("watch_config = true: a change of the file is applied without a signal", () =>
    Effect.gen(function*() {
      const { ports, server, serverFile, serverToml, mapping } = yield* setup("tcp", ["watch_config = true"])
      yield* server.waitFor(/watching .* for changes/)
      yield* Effect.sleep(1_100) // a different mtime second, whatever the file system's resolution
      writeFileSync(serverFile, serverToml([`ports = [${mapping(ports.a)}, ${mapping(ports.c)}, ${mapping(ports.b)}]`]))
      yield* server.waitFor(/reloading .* \(the file changed\)[\s\S]*reloaded: ports: 1 added, 0 removed/, 10_000)
      assert.strictEqual(yield* through(ports.b, "watched"), "watched")
    }), 40_000)

  for (const transport of ["tcp", "tcpmux"] as const) {
    it.scopedLive(`${transport}: changed tunnel settings renew the session; the user port and its live connection stay`, () =>
      Effect.gen(function*() {
        const { ports, server, serverFile, serverToml, mapping } = yield* setup(transport)
        const held = yield* hold(ports.a)
        assert.strictEqual(yield* held.echo("before"), "before")
        writeFileSync(serverFile, serverToml([`ports = [${mapping(ports.a)}, ${mapping(ports.c)}]`, `channel_size = 100`]))
        server.child.kill("SIGHUP")
        yield* server.waitFor(/reloaded: tunnel restarted \(channel_size changed\)/)
        // the client was told goodbye and joins the new tunnel side; new users get through
        yield* server.waitFor(/session established[\s\S]*session established/)
        assert.strictEqual(yield* through(ports.a, "after"), "after")
        assert.strictEqual(yield* held.echo("still alive"), "still alive")
      }), 40_000)
  }

  it.scopedLive("a client's SIGHUP with a changed setting starts a new session; its live connection stays", () =>
    Effect.gen(function*() {
      const { client, clientFile, common, ports, server, tunnelPort } = yield* setup("tcp")
      const held = yield* hold(ports.a)
      assert.strictEqual(yield* held.echo("before"), "before")
      writeFileSync(clientFile, ["[client]", `remote_addr = "127.0.0.1:${tunnelPort}"`, ...common, `retry_interval = 2`].join("\n"))
      client.child.kill("SIGHUP")
      yield* client.waitFor(/reloaded: new client session \(retry_interval changed\)/)
      yield* server.waitFor(/peer said goodbye: client shutting down/)
      assert.strictEqual(yield* through(ports.a, "after"), "after")
      assert.strictEqual(yield* held.echo("still alive"), "still alive")
      assert.notMatch(server.output(), /WARN/)
    }), 40_000)

  it.scopedLive("SIGTERM drains: new users refused, a live connection may finish, exit 0; a second signal exits at once", () =>
    Effect.gen(function*() {
      const { ports, server } = yield* setup("tcp")
      const scope = yield* Scope.make()
      const held = yield* Scope.extend(hold(ports.a), scope)
      assert.strictEqual(yield* held.echo("live"), "live")
      server.child.kill("SIGTERM")
      yield* server.waitFor(/shutting down: no new connections; 1 live connection\(s\) get 5s to finish/)
      assert.strictEqual(yield* connectAndWaitEnd(ports.c, 2_000), "reset", "no new users while draining")
      assert.strictEqual(yield* held.echo("finishing"), "finishing")
      yield* Scope.close(scope, Exit.void) // the user is done: the server exits without waiting out the deadline
      assert.strictEqual(yield* server.done, 0, server.output())
      assert.match(server.output(), /every connection finished/)

      // a second signal does not wait for the drain
      const again = yield* setup("tcp")
      const held2 = yield* hold(again.ports.a)
      assert.strictEqual(yield* held2.echo("x"), "x")
      again.server.child.kill("SIGTERM")
      yield* again.server.waitFor(/shutting down/)
      const started = Date.now()
      again.server.child.kill("SIGTERM")
      assert.strictEqual(yield* again.server.done, 130)
      assert.isBelow(Date.now() - started, 4_000, "exited before the 5 s drain deadline")
    }), 60_000)
})
