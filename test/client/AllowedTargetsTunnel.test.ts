/**
 * `allowed_targets` end to end, over tcp (pooled channels) and tcpmux (streams): a server port whose
 * target the client does not allow gets its user connection refused (counted, logged at a rate limit,
 * the target never dialed) while an allowed port on the same tunnel keeps carrying hashed bytes; the
 * client's own `forwarder` targets are not checked.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { ClientConfig } from "../../src/config/Config.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import {
  clientConfig,
  eventually,
  isMux,
  mapping,
  serverConfig,
  startClient,
  startServer,
  transportConfigs
} from "../helpers/Harness.ts"
import { connectAndWaitEnd, roundTrip, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024

for (const transport of ["tcp", "tcpmux"] as const) {
  const configs = transportConfigs(transport)

  /** An allowed echo target, a live echo target the client must refuse, and a tunnel with a port for each. */
  const setup = (client: (ports: { readonly allowed: number; readonly bad: number }) => Partial<ClientConfig>) =>
    Effect.gen(function*() {
      const allowed = yield* EchoServer.make()
      const forbidden = yield* EchoServer.make()
      const tunnelPort = yield* freePort()
      const goodPort = yield* freePort()
      const badPort = yield* freePort()
      const s = yield* startServer(serverConfig(tunnelPort, [mapping(goodPort, allowed.port), mapping(badPort, forbidden.port)], configs.server))
      const logs: Array<string> = []
      const c = yield* startClient(clientConfig(tunnelPort, { ...configs.client, ...client({ allowed: allowed.port, bad: badPort }) }), true, logs)
      assert.isTrue(yield* eventually(() => s.value.hub.readyCount > 0))
      return { allowed, forbidden, goodPort, badPort, s, c, logs }
    })

  describe(`allowed_targets over ${transport}`, () => {
    it.scopedLive("a disallowed target is refused for that connection only; the allowed port keeps carrying bytes", () =>
      Effect.gen(function*() {
        const { allowed, forbidden, goodPort, badPort, s, c, logs } = yield* setup((ports) => ({
          allowed_targets: [`127.0.0.1:${ports.allowed}`, "10.0.0.0/8:*", "[fd00::/8]:*"]
        }))
        const long = yield* Effect.fork(transfer(goodPort, 8 * MiB))
        const how = yield* connectAndWaitEnd(badPort, 5_000)
        // a stream is reset; a pooled channel closes on its failure path, which ends the user's connection
        if (isMux(transport)) assert.strictEqual(how, "reset")
        else assert.notStrictEqual(how, "timeout")
        const result = yield* Effect.flatten(long.await)
        assert.strictEqual(result.sent, 8 * MiB)
        assert.strictEqual(result.receivedHash, result.sentHash)
        assert.strictEqual(forbidden.accepted(), 0)
        assert.strictEqual(c.value.stats.failed, 1)
        assert.isTrue(
          logs.some((l) => l.includes(`refused target 127.0.0.1:${forbidden.port} for server port ${badPort}: not in allowed_targets`)),
          logs.join("\n")
        )
        // the mux session that carried the refused stream carries on; the tunnel keeps working either way
        if (isMux(transport)) assert.strictEqual(s.value.stats.channels, 1)
        assert.strictEqual((yield* roundTrip(goodPort, Buffer.from("still here"))).toString(), "still here")
        assert.isTrue(allowed.accepted() >= 2)
        assert.isDefined(s.value.hub.sessionId)
      }), 60_000)

    it.scopedLive("repeated refusals are each counted and logged at a rate limit", () =>
      Effect.gen(function*() {
        const { badPort, c, forbidden, goodPort, logs } = yield* setup((ports) => ({ allowed_targets: [`127.0.0.1:${ports.allowed}`] }))
        for (let i = 0; i < 5; i++) assert.notStrictEqual(yield* connectAndWaitEnd(badPort, 5_000), "timeout")
        assert.isTrue(yield* eventually(() => c.value.stats.failed === 5, 5_000))
        assert.strictEqual(logs.filter((l) => l.includes("refused target")).length, 1, logs.join("\n"))
        assert.strictEqual(forbidden.accepted(), 0)
        assert.strictEqual((yield* roundTrip(goodPort, Buffer.from("ok"))).toString(), "ok")
      }), 60_000)

    it.scopedLive("forwarder targets are the client's own choice and are not checked", () =>
      Effect.gen(function*() {
        const other = yield* EchoServer.make()
        const { badPort, c, forbidden } = yield* setup((ports) => ({
          allowed_targets: [`127.0.0.1:${ports.allowed}`],
          forwarder: new Map([[ports.bad, { host: "127.0.0.1", port: other.port }]])
        }))
        assert.strictEqual((yield* roundTrip(badPort, Buffer.from("forwarded"))).toString(), "forwarded")
        assert.strictEqual(other.accepted(), 1)
        assert.strictEqual(forbidden.accepted(), 0)
        assert.strictEqual(c.value.stats.failed, 0)
      }))
  })
}
