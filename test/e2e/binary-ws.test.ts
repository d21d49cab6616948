/**
 * The WebSocket transports through the compiled binary (Bun's native sockets, TLS on `node:tls`):
 * server and client as two processes of `dist/backhaul`, for each of ws, wsmux, wss and wssmux.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { rmSync } from "node:fs"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import * as BinaryTunnel from "../helpers/BinaryTunnel.ts"
import * as Certs from "../helpers/Certs.ts"
import { eventually } from "../helpers/Harness.ts"
import * as Processes from "../helpers/Processes.ts"
import { connectAndWaitEnd, halfCloseTarget, concurrentEchoes, pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024
const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

for (const transport of ["ws", "wsmux", "wss", "wssmux"] as const) {
  const secure = transport.startsWith("wss")
  const options = {
    extra: [`transport = "${transport}"`, `ws_path = "/bh"`, "heartbeat = 2"],
    serverExtra: secure ? [`tls_cert = "${certs.cert}"`, `tls_key = "${certs.key}"`] : [],
    clientExtra: secure ? [`tls_ca = "${certs.cert}"`] : []
  }

  describe(`compiled binary, ${transport}`, () => {
    it.scopedLive("64 MiB each way hashed, 200 concurrent connections, half-close; a server restart is survived", () =>
      Effect.gen(function*() {
        const echo = yield* EchoServer.make()
        const halfClose = yield* halfCloseTarget
        const started = yield* BinaryTunnel.tunnel([echo.port, halfClose], options)
        const [echoPort, halfPort] = started.userPorts as [number, number]
        const t = yield* transfer(echoPort, 64 * MiB)
        assert.strictEqual(t.received, 64 * MiB)
        assert.strictEqual(t.receivedHash, t.sentHash)
        assert.strictEqual(yield* concurrentEchoes(echoPort, 200, (i) => 2048 + i * 31), 200)
        const request = pattern(9, 2 * MiB)
        const reply = yield* roundTrip(halfPort, request)
        assert.strictEqual(reply.toString(), `got ${request.length} bytes sha256=${sha256(request)}`)

        yield* started.server.stop("SIGTERM")
        const again = yield* Processes.start(BinaryTunnel.binary, ["-c", join(started.clientConfig, "..", "server.toml")])
        yield* again.waitFor(/user ports: 2 of 2 listening/)
        assert.isTrue(yield* eventually(() => (started.client.output().match(/connected to/g) ?? []).length === 2, 15_000))
        yield* Effect.sleep(300)
        assert.strictEqual((yield* roundTrip(echoPort, Buffer.from("after restart"))).toString(), "after restart")
        assert.notMatch(started.client.output(), /level=(ERROR|FATAL)/)
      }), 120_000)

    it.scopedLive("a wrong token reaches nothing", () =>
      Effect.gen(function*() {
        const target = yield* EchoServer.make()
        const server = yield* BinaryTunnel.server([target.port], { ...options, token: "right" })
        const dir = Processes.tempFiles({
          "c.toml": [
            "[client]",
            `remote_addr = "127.0.0.1:${server.tunnelPort}"`,
            ...options.extra,
            ...options.clientExtra,
            'token = "wrong"'
          ].join("\n")
        })
        const intruder = yield* Processes.start(BinaryTunnel.binary, ["-c", join(dir, "c.toml")])
        yield* intruder.waitFor(/rejected the token/)
        assert.notStrictEqual(yield* connectAndWaitEnd(server.userPorts[0]!, 7_000), "timeout")
        assert.strictEqual(target.accepted(), 0)
      }), 30_000)
  })
}
