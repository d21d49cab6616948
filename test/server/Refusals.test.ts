/**
 * Refused tunnel connections, in-process (the `node:net` backend): each is logged with the peer's real
 * address (also when the handshake timed out and the socket was destroyed first), counted against that
 * address so a lockout follows, every reason has its own rate-limited line, and a lockout says how long.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { freePort } from "../../src/net/FreePort.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { rawPeer } from "../helpers/RawPeer.ts"
import { clientConfig, eventually, serverConfig, startClient, startServer } from "../helpers/Harness.ts"

const http = "GET / HTTP/1.1\r\nHost: tunnel\r\n\r\n"

/** The status byte of a server hello (after magic and version). */
const statusOf = (hello: Buffer): number | undefined => (hello.length >= 6 && hello.subarray(0, 4).equals(P.MAGIC) ? hello[5] : undefined)

describe("refusals", () => {
  it.scopedLive("a handshake timeout is logged with the peer's address and counts towards its lockout", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const logs: Array<string> = []
      yield* startServer(
        serverConfig(tunnelPort, [], { dial_timeout: 1 }),
        { userWaitMillis: 5_000, authFailuresPerMinute: 3 },
        logs
      )
      // three silent peers at once: each is given up on at the deadline, its socket destroyed
      const silent = yield* Effect.all([0, 1, 2].map(() => rawPeer(tunnelPort, "")), { concurrency: "unbounded" })
      assert.isTrue(yield* eventually(() => logs.some((l) => l.includes("is locked out")), 3_000), logs.join("\n"))
      const timeouts = logs.filter((l) => l.includes(": timeout: no handshake within 1s"))
      assert.isAtLeast(timeouts.length, 1, logs.join("\n"))
      const ports = new Set(silent.map((s) => s.localPort))
      for (const line of timeouts) {
        const m = /refused tunnel connection from 127\.0\.0\.1:(\d+): timeout/.exec(line)
        assert.isNotNull(m, line)
        assert.isTrue(ports.has(Number(m![1])), `${line} names a port none of the peers had (${[...ports]})`)
      }
      assert.isFalse(logs.some((l) => l.includes("?:0") || l.includes("undefined")), logs.join("\n"))
      const lockout = logs.find((l) => l.includes("is locked out"))!
      assert.match(lockout, /WARN 127\.0\.0\.1 is locked out for \d+ s after 3 failed handshakes \(the last from 127\.0\.0\.1:\d+: timeout\)/)

      // the next connection from that address is refused at once, and the refusal is logged
      const next = yield* rawPeer(tunnelPort, "")
      assert.strictEqual(statusOf(next.received), P.Status.RateLimited)
      assert.isTrue(yield* eventually(() => logs.some((l) => l.includes("rate limited")), 2_000), logs.join("\n"))
      const refused = logs.find((l) => l.includes("rate limited"))!
      assert.match(
        refused,
        new RegExp(`WARN refused tunnel connection from 127\\.0\\.0\\.1:${next.localPort}: rate limited: locked out for (\\d+) s after 3 failed handshakes`)
      )
      const left = Number(/locked out for (\d+) s/.exec(refused)![1])
      assert.isTrue(left > 0 && left <= 60, refused)
    }))

  it.scopedLive("each reason has its own rate-limited line: a scanner flood does not hide a wrong token", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const logs: Array<string> = []
      yield* startServer(serverConfig(tunnelPort, []), { userWaitMillis: 5_000, authFailuresPerMinute: 1_000 }, logs)
      const junk = yield* Effect.all([0, 1, 2, 3].map(() => rawPeer(tunnelPort, http)), { concurrency: 1 })
      // a client with the wrong token, right after the flood
      yield* startClient(clientConfig(tunnelPort, { token: Redacted.make("wrong") }), false)
      assert.isTrue(yield* eventually(() => logs.some((l) => l.includes(": auth failed: ")), 5_000), logs.join("\n"))
      const notBackhaul = logs.filter((l) => l.includes(": not backhaul: "))
      assert.strictEqual(notBackhaul.length, 1, logs.join("\n"))
      assert.include(notBackhaul[0]!, `from 127.0.0.1:${junk[0]!.localPort}: not backhaul: peer sent an HTTP request`)
      assert.match(logs.find((l) => l.includes(": auth failed: "))!, /WARN refused tunnel connection from 127\.0\.0\.1:\d+: auth failed: wrong token/)
    }))

  it.scopedLive("IPv6 peers are written with brackets", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort("::1")
      const logs: Array<string> = []
      yield* startServer(serverConfig(tunnelPort, [], { bind_addr: { host: "::1", port: tunnelPort } }), undefined, logs)
      const seen = yield* rawPeer(tunnelPort, http, "::1")
      assert.isTrue(yield* eventually(() => logs.some((l) => l.includes("not backhaul")), 3_000), logs.join("\n"))
      assert.include(logs.find((l) => l.includes("not backhaul"))!, `from [::1]:${seen.localPort}: not backhaul`)
    }))
})
