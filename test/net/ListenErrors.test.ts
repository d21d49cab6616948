/**
 * A listen failure says why, in every socket backend: in-process on `node:net`, and from source under
 * Bun (its native sockets report every failure as "Failed to listen at HOST").
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as net from "node:net"
import { join } from "node:path"
import { freePort } from "../../src/net/FreePort.ts"
import * as ListenErrors from "../../src/net/ListenErrors.ts"
import * as Tcp from "../helpers/Net.ts"
import * as BunSource from "../helpers/BunSource.ts"
import * as Processes from "../helpers/Processes.ts"

/** A port held by another listener for the life of the scope. */
const heldPort = (host = "127.0.0.1") =>
  Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const server = net.createServer()
      server.listen(0, host, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.sync(() => server.close())
  ).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

const options: Tcp.SocketOptions = { nodelay: true, keepaliveSeconds: 30 }

/** The failure of listening on host:port, in its own scope. */
const listenError = (host: string, port: number) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(Tcp.listen({ host, port }, options, (c) => c.destroy())))
    assert.isTrue(Exit.isFailure(exit), `listening on ${host}:${port} succeeded`)
    return yield* Effect.flip(exit)
  })

// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): assigned to no machine; .invalid never resolves (RFC 2606)
const notHere = "192.0.2.1"
const noSuchHost = "backhaul-test.invalid"

describe("listen errors", () => {
  it.scopedLive("node:net: a port in use, an address of another machine, a name that does not resolve", () =>
    Effect.gen(function*() {
      const held = yield* heldPort()
      const inUse = yield* listenError("127.0.0.1", held)
      assert.strictEqual(inUse.detail, "address already in use (another process listens on it)")
      assert.strictEqual(inUse.code, "EADDRINUSE")
      assert.strictEqual(inUse.message, `Listen 127.0.0.1:${held}: address already in use (another process listens on it)`)
      const port = yield* freePort()
      assert.strictEqual((yield* listenError(notHere, port)).detail, "not an address of this machine")
      assert.match((yield* listenError(noSuchHost, port)).detail, /^cannot resolve host/)
    }))

  it("permission denied names what low ports need", () => {
    assert.strictEqual(
      ListenErrors.meaning("EACCES", "0.0.0.0", 443),
      "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
    )
    assert.strictEqual(ListenErrors.meaning("EACCES", "0.0.0.0", 8443), "permission denied")
    assert.strictEqual(ListenErrors.meaning("EADDRNOTAVAIL", notHere, 80), "not an address of this machine")
    assert.match(ListenErrors.meaning("EAI_AGAIN", "example.com", 80)!, /^cannot resolve host/)
  })

  it.scopedLive("Bun's native sockets: the tunnel port's failure says why, in one line", () =>
    Effect.gen(function*() {
      const held = yield* heldPort()
      const port = yield* freePort()
      const cases = [
        [`127.0.0.1:${held}`, "address already in use (another process listens on it)"],
        [`${notHere}:${port}`, "not an address of this machine"],
        [`${noSuchHost}:${port}`, "cannot resolve host"]
      ] as const
      for (const [bind, why] of cases) {
        const dir = Processes.tempFiles({
          "server.toml": ["[server]", `bind_addr = "${bind}"`, `token = "x"`, "ports = []"].join("\n")
        })
        const server = yield* BunSource.start(["-c", join(dir, "server.toml")])
        const code = yield* server.done.pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(code, 1, server.output())
        assert.include(server.output(), `backhaul: Listen ${bind}: ${why}`)
        assert.notInclude(server.output(), "Failed to listen")
      }
    }))
})
