/**
 * Hostile peers against a live server, over real loopback sockets, for every transport (issue 13,
 * part C): a server (in-process, test/helpers/Harness.ts) with a good client carrying hashed traffic,
 * while hundreds of peers (test/helpers/BadPeers.ts) open the tunnel port and send mutated openings —
 * for the WebSocket carriers behind a proper or mutated HTTP upgrade, in WebSocket frames or raw —
 * then half-close or go silent. The server must end every one of them by its handshake deadline, count
 * each that reached the tunnel's handshake in `stats.rejected` (and log it), never admit one, and the
 * good client's session must carry every byte intact throughout, never replaced.
 *
 * CI throws 40 peers per transport; `npm run fuzz` FUZZ_RUNS / 20 (1,000 at the default 20,000).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { rmSync } from "node:fs"
import * as BadPeers from "../helpers/BadPeers.ts"
import * as Certs from "../helpers/Certs.ts"
import { fuzzing, runs, tally, timeout, within } from "../helpers/Fuzz.ts"
import {
  clientConfig,
  echoSetup,
  eventually,
  mapping,
  serverConfig,
  startClient,
  startServer,
  streamTransports,
  transportConfigs
} from "../helpers/Harness.ts"
import { transfer } from "../helpers/Sockets.ts"

const count = tally("live-server")
const certs = Certs.makeSync()
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

/** hostile peers per transport */
const PEERS = fuzzing ? runs(40, 1 / 20) : 40
const CONCURRENCY = 16
/** the server's handshake deadline (dial_timeout), seconds */
const DEADLINE = 2
const PATH = "/tunnel"

describe("fuzz: hostile peers on a live server's tunnel port", () => {
  for (const transport of streamTransports) {
    it.scopedLive(`${transport}: ${PEERS} bad peers are each ended and counted while a good client carries hashed bytes`, () =>
      Effect.gen(function*() {
        const { echo, tunnelPort, userPort } = yield* echoSetup
        const t = transportConfigs(transport, certs)
        const logs: Array<string> = []
        const server = yield* startServer(
          serverConfig(tunnelPort, [mapping(userPort, echo.port)], { ...t.server, ws_path: PATH, dial_timeout: DEADLINE }),
          undefined,
          logs
        )
        yield* startClient(clientConfig(tunnelPort, { ...t.client, ws_path: PATH }))
        assert.isTrue(yield* eventually(() => server.value.hub.readyCount > 0))
        const sessionsBefore = server.value.stats.sessions
        const rejectedBefore = server.value.stats.rejected

        // good traffic for as long as the bad peers keep coming
        let stop = false
        const good = yield* Effect.fork(Effect.gen(function*() {
          const results: Array<boolean> = []
          for (let i = 0; !stop || results.length === 0; i++) {
            const r = yield* within(transfer(userPort, 32 * 1024 + (i % 7) * 10_000, "127.0.0.1", 16 * 1024), 30_000, `good transfer ${i}`)
            results.push(r.sent === r.received && r.sentHash === r.receivedHash)
            if (results.length >= 10_000) break
          }
          return results
        }))

        const peers = BadPeers.sample(transport, PATH, PEERS, 0x5eed + transport.length)
        const carrier = BadPeers.carrierOf(transport)
        const endings = yield* Effect.forEach(
          peers,
          (peer, i) => BadPeers.run(peer, carrier, tunnelPort, BadPeers.sourceAddress(i + 1), 2 * DEADLINE * 1000 + 4_000),
          { concurrency: CONCURRENCY }
        )
        stop = true
        const carried = yield* Fiber.join(good)

        const timedOut = endings.filter((e) => e.how !== "closed")
        // DEBUG_PEERS=1 prints the peers a server left open, to replay them by hand
        if (process.env.DEBUG_PEERS) {
          endings.forEach((e, i) => {
            const p = peers[i]!
            if (e.how !== "closed") console.log(JSON.stringify({ ...p, payload: p.payload.toString("hex"), upgrade: p.upgrade?.toString("latin1"), how: e.how }))
          })
        }
        assert.deepStrictEqual(timedOut.length, 0, `every bad peer is ended by the server (${timedOut.map((e) => e.how).join(", ")})`)
        // every peer that got to the tunnel's handshake is counted (behind an upgrade: those that saw 101)
        const reached = carrier === "tcp" ? endings.length : endings.filter((e) => e.answer.toString("latin1").startsWith("HTTP/1.1 101")).length
        if (carrier !== "tcp") assert.isAtLeast(reached, peers.filter((p) => p.properUpgrade).length, "a proper upgrade is answered 101")
        assert.isTrue(
          yield* eventually(() => server.value.stats.rejected - rejectedBefore >= reached, 5_000),
          `rejected ${server.value.stats.rejected - rejectedBefore} of ${reached}`
        )
        assert.isAtMost(server.value.stats.rejected - rejectedBefore, endings.length)
        assert.isTrue(logs.some((l) => l.includes("refused tunnel connection from 127.1.")), "refusals are logged with the address")
        // the good session went on, untouched
        assert.isAtLeast(carried.length, 1)
        assert.isTrue(carried.every(Boolean), `${carried.filter((ok) => !ok).length} of ${carried.length} transfers corrupted`)
        assert.strictEqual(server.value.stats.sessions, sessionsBefore, "the good client's session was never replaced")
        assert.strictEqual(server.value.hub.sessionCount, 1)
        endings.forEach((e, i) => {
          const answer = e.answer.toString("latin1")
          const how = answer.startsWith("HTTP/1.1 101") ? "upgraded, then refused" : answer.startsWith("HTTP/") ? `HTTP ${answer.slice(9, 12)}` : "refused"
          count(`live server, ${transport}`, `${peers[i]!.hold ? "silent" : "half-closed"}: ${how}`)
        })
      }), timeout(120_000, 3_600_000))
  }
})
