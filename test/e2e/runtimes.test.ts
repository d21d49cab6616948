/**
 * The same source under Node (through tsx) and Deno: a real tunnel with the server under one runtime and
 * the client under the other, and the demo under each. (Bun is covered by the compiled binary's test.)
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { rmSync } from "node:fs"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Certs from "../helpers/Certs.ts"
import * as Processes from "../helpers/Processes.ts"
import { transfer } from "../helpers/Sockets.ts"

const root = join(import.meta.dirname, "..", "..")
const bin = (name: string) => join(root, "node_modules", ".bin", name)
const node = [bin("tsx"), ["src/cli/main.ts"]] as const
const deno = [bin("deno"), ["run", "-A", "--quiet", "src/cli/main.ts"]] as const

describe("runtimes", () => {
  const cases = [
    { transport: "tcp", server: ["Node", node], client: ["Deno", deno] },
    { transport: "tcpmux", server: ["Deno", deno], client: ["Node", node] },
    { transport: "wss", server: ["Deno", deno], client: ["Node", node] },
    { transport: "wsmux", server: ["Node", node], client: ["Deno", deno] }
  ] as const
  const certs = Certs.makeSync()
  afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))
  const tls = (transport: string) =>
    transport.startsWith("wss")
      ? { server: `tls_cert = "${certs.cert}"\ntls_key = "${certs.key}"\n`, client: `tls_ca = "${certs.cert}"\n` }
      : { server: "", client: "" }
  for (const c of cases) {
  it.scopedLive(`${c.transport}: server under ${c.server[0]}, client under ${c.client[0]}: bytes in equal bytes out`, () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      const common = `transport = "${c.transport}"\ntoken = "rt"\n`
      const files = tls(c.transport)
      const dir = Processes.tempFiles({
        "server.toml":
          `[server]\nbind_addr = "127.0.0.1:${tunnelPort}"\n${common}${files.server}ports = ["127.0.0.1:${userPort}=127.0.0.1:${echo.port}"]\n`,
        "client.toml": `[client]\nremote_addr = "127.0.0.1:${tunnelPort}"\n${common}${files.client}`
      })
      const [serverCommand, serverArgs] = c.server[1]
      const [clientCommand, clientArgs] = c.client[1]
      const server = yield* Processes.start(serverCommand, [...serverArgs, "server", "-c", join(dir, "server.toml")], root)
      yield* server.waitFor(/tunnel listening/, 60_000)
      const client = yield* Processes.start(clientCommand, [...clientArgs, "client", "-c", join(dir, "client.toml")], root)
      yield* client.waitFor(/connected to/, 60_000)
      yield* Effect.sleep(300)
      const t = yield* transfer(userPort, 8 * 1024 * 1024).pipe(
        Effect.tapError(() => Effect.sync(() => console.error(`server:\n${server.output()}\nclient:\n${client.output()}`)))
      )
      assert.strictEqual(t.receivedHash, t.sentHash)
      assert.strictEqual(t.received, 8 * 1024 * 1024)
      assert.strictEqual(yield* client.stop("SIGTERM"), 0)
      assert.strictEqual(yield* server.stop("SIGTERM"), 0)
      // retried: one EPIPE seen once in a full parallel run, never alone or under CPU stress; a failing
      // attempt prints both processes' logs (see the closing note of issue 2)
    }), { timeout: 120_000, retry: 2 })
  }

  for (const [name, [command, args]] of [["Node", node], ["Deno", deno]] as const) {
    it.live(`the demo runs under ${name}`, () =>
      Effect.gen(function*() {
        const r = yield* Processes.run(command, [...args, "demo"], root)
        assert.strictEqual(r.code, 0, r.output)
        assert.include(r.output, "got back \"hello through backhaul\"")
        assert.include(r.output, "equal")
      }), 120_000)
  }
})
