/**
 * The compiled executable (`npm run build` → dist/backhaul) as real processes: CLI behaviour, and a
 * server and a client carrying hashed traffic, surviving a client kill -9, and exiting 0 on SIGTERM.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { existsSync } from "node:fs"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import * as BinaryTunnel from "../helpers/BinaryTunnel.ts"
import * as Processes from "../helpers/Processes.ts"
import { roundTrip, transfer } from "../helpers/Sockets.ts"

const binary = BinaryTunnel.binary

describe("dist/backhaul", () => {
  it("exists (npm run build made it)", () => {
    assert.isTrue(existsSync(binary), `${binary} is missing: run npm run build`)
  })

  it.live("--version and --help", () =>
    Effect.gen(function*() {
      const version = yield* Processes.run(binary, ["--version"])
      assert.strictEqual(version.code, 0)
      assert.match(version.output, /\d+\.\d+\.\d+/)
      const help = yield* Processes.run(binary, ["--help"])
      assert.strictEqual(help.code, 0)
      for (const word of ["server", "client", "check", "demo", "--config"]) assert.include(help.output, word)
      const completions = yield* Processes.run(binary, ["--completions", "bash"])
      assert.strictEqual(completions.code, 0)
      assert.include(completions.output, "complete -F")
    }))

  it.live("check: a bad config lists every problem with its key and exits 1", () =>
    Effect.gen(function*() {
      const dir = Processes.tempFiles({
        "bad.toml": [
          "[server]",
          "bind_addr = \"0.0.0.0:3080\"",
          "chanel_size = 10",
          "ports = [",
          "  \"4000=5201\",",
          "  \"70000\",",
          "]"
        ].join("\n")
      })
      const r = yield* Processes.run(binary, ["check", "-c", join(dir, "bad.toml")])
      assert.strictEqual(r.code, 1)
      assert.include(r.output, "server.ports[1]")
      assert.include(r.output, "port 70000 is outside 1-65535")
      assert.include(r.output, "chanel_size")
      assert.include(r.output, "channel_size")
      // the service command line (which skips the full CLI) explains the same problems and exits 1
      for (const args of [["-c", join(dir, "bad.toml")], ["server", "--config", join(dir, "bad.toml")]]) {
        const run = yield* Processes.run(binary, args)
        assert.strictEqual(run.code, 1, args.join(" "))
        assert.include(run.output, "port 70000 is outside 1-65535")
      }
      const missing = yield* Processes.run(binary, ["-c", join(dir, "missing.toml")])
      assert.strictEqual(missing.code, 1)
      assert.include(missing.output, "file not found")
    }))

  it.live("check: a good config prints a summary and exits 0", () =>
    Effect.gen(function*() {
      const dir = Processes.tempFiles({
        "ok.toml": "[server]\nbind_addr = \"0.0.0.0:3080\"\ntoken = \"hunter2\"\nports = [\"4000=5201\", \"443-445\"]\n"
      })
      const r = yield* Processes.run(binary, ["check", "-c", join(dir, "ok.toml")])
      assert.strictEqual(r.code, 0, r.output)
      assert.include(r.output, "4000")
      assert.notInclude(r.output, "hunter2")
    }))

  it.scopedLive("server and client processes carry traffic, survive a client kill -9, and exit 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const { client, clientConfig, server, userPorts: [userPort] } = yield* BinaryTunnel.tunnel([echo.port], {
        token: "binary-test",
        extra: ["heartbeat = 1"],
        clientArgs: (path) => ["client", "-c", path]
      })
      const t = yield* transfer(userPort!, 16 * 1024 * 1024)
      assert.strictEqual(t.receivedHash, t.sentHash)
      assert.strictEqual(t.received, 16 * 1024 * 1024)

      yield* client.stop("SIGKILL")
      const again = yield* Processes.start(binary, ["-c", clientConfig])
      yield* again.waitFor(/connected to/)
      yield* Effect.sleep(200)
      assert.strictEqual((yield* roundTrip(userPort!, Buffer.from("after kill"))).toString(), "after kill")

      assert.strictEqual(yield* again.stop("SIGTERM"), 0)
      assert.strictEqual(yield* server.stop("SIGTERM"), 0)
      assert.notInclude(server.output(), "binary-test")
    }), 60_000)
})
