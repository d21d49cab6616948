/**
 * A live client's own address is never locked out by garbage from a neighbour behind the same IP — but
 * only while that client is live: once its session ended, the address is limited like any other.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { freePort } from "../../src/net/FreePort.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { rawPeer } from "../helpers/RawPeer.ts"
import { clientConfig, eventually, serverConfig, startClient, startServer } from "../helpers/Harness.ts"

const junk = "GET / HTTP/1.1\r\n\r\n"
const statusOf = (hello: Buffer) => (hello.length >= 6 && hello.subarray(0, 4).equals(P.MAGIC) ? hello[5] : undefined)

describe("auth lockout exemption", () => {
  it.scopedLive("holds while the client is live and ends with its session", () =>
    Effect.gen(function*() {
      const tunnelPort = yield* freePort()
      const server = yield* startServer(serverConfig(tunnelPort, []), { userWaitMillis: 5_000, authFailuresPerMinute: 3 })
      const client = yield* startClient(clientConfig(tunnelPort))
      // a neighbour on the client's address fails far past the limit: nobody on it is refused at once
      for (let i = 0; i < 5; i++) yield* rawPeer(tunnelPort, junk)
      const whileLive = yield* rawPeer(tunnelPort, junk)
      assert.notStrictEqual(statusOf(whileLive.received), P.Status.RateLimited)
      // the client goes away: its address is no longer exempt
      yield* client.stop
      assert.isTrue(yield* eventually(() => server.value.hub.sessionCount === 0, 5_000))
      const after = yield* rawPeer(tunnelPort, junk)
      assert.strictEqual(statusOf(after.received), P.Status.RateLimited, after.received.toString("hex"))
    }))
})
