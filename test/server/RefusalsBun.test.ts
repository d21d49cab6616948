/**
 * Refusals on Bun's native sockets (the compiled binary's backend), run from source under Bun: Bun
 * forgets a socket's peer as soon as it is closed, which logged every refusal as from `?:0` and counted
 * them all against one key. The address must be the peer's, in the refusal and in the lockout.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { join } from "node:path"
import { freePort } from "../../src/net/FreePort.ts"
import * as P from "../../src/protocol/Protocol.ts"
import * as BunSource from "../helpers/BunSource.ts"
import * as Processes from "../helpers/Processes.ts"
import { rawPeer } from "../helpers/RawPeer.ts"

const http = "GET / HTTP/1.1\r\nHost: tunnel\r\n\r\n"

describe("refusals under Bun's native sockets", () => {
  it.scopedLive("a refusal names the peer's address, and ten of them lock that address out", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const dir = Processes.tempFiles({
        "server.toml": ["[server]", `bind_addr = "127.0.0.1:${tunnelPort}"`, `token = "bun"`, "ports = []"].join("\n")
      })
      const server = yield* BunSource.start(["-c", join(dir, "server.toml")])
      yield* server.waitFor(/tunnel listening on/)
      // the server allows 10 failed handshakes per address per minute
      const peers = yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i), () => rawPeer(tunnelPort, http))
      const next = yield* rawPeer(tunnelPort, http)
      assert.strictEqual(next.received[5], P.Status.RateLimited, `11th connection got ${next.received.toString("hex")}`)
      yield* server.waitFor(/rate limited: locked out for \d+ s after 10 failed handshakes/, 5_000)
      const out = server.output()
      assert.include(out, `refused tunnel connection from 127.0.0.1:${peers[0]!.localPort}: not backhaul: peer sent an HTTP request`)
      assert.match(out, /127\.0\.0\.1 is locked out for \d+ s after 10 failed handshakes \(the last from 127\.0\.0\.1:\d+: not backhaul\)/)
      assert.include(out, `refused tunnel connection from 127.0.0.1:${next.localPort}: rate limited: locked out for`)
      assert.notInclude(out, "?:0")
    }))
})
