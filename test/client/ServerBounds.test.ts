/**
 * The client does not trust a server's numbers without bounds: a hand-made server (real handshake, the
 * token right) announces a heartbeat that would switch off dead-server detection, or asks for 65,535
 * data channels at once. The first session is refused with a line naming the number; the second request
 * is obeyed only up to the client's cap.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Redacted from "effect/Redacted"
import { MAX_IDLE_CHANNELS } from "../../src/client/Dialer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Tcp from "../helpers/Net.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import type { Frame } from "../../src/protocol/Protocol.ts"
import { clientConfig, eventually, startClient } from "../helpers/Harness.ts"

const token = Redacted.make("test-secret")
const socketOptions = { nodelay: false, keepaliveSeconds: 0 }

/** A server that admits control channels, sends `frames` on each, and counts every connection. */
const fakeServer = (frames: ReadonlyArray<Frame>) =>
  Effect.gen(function*() {
    const port = yield* freePort()
    const seen = { connections: 0, controls: 0 }
    const fork = yield* FiberSet.makeRuntime<never, unknown, never>()
    yield* Tcp.listen({ host: "127.0.0.1", port }, socketOptions, (socket) => {
      seen.connections++
      fork(Handshake.server(socket, { token, transport: "tcp", admitData: () => "unknown", admitControl: () => true }).pipe(
        Effect.tap((admitted) =>
          admitted.kind === "control"
            ? Effect.sync(() => {
              seen.controls++
              for (const f of frames) Handshake.sendFrame(socket, f)
            })
            : Effect.void
        ),
        Effect.zipRight(Effect.never),
        Effect.ignore
      ))
    })
    return { port, seen }
  })

describe("the client bounds what a server asks", () => {
  it.scopedLive("a Welcome with a heartbeat of 0xFFFFFFFF ms is refused, with the number in the log", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer([{ _tag: "Welcome", heartbeatMs: 0xffffffff, poolSize: 0, maxFrame: 0 }])
      const logs: Array<string> = []
      const client = yield* startClient(clientConfig(server.port), false, logs)
      assert.isTrue(yield* eventually(() => server.seen.controls >= 2, 10_000))
      assert.strictEqual(client.value.stats.sessions, 0)
      const line = logs.find((l) => l.includes("heartbeatMs 4294967295"))
      assert.isDefined(line, logs.join("\n"))
      assert.include(line!, "outside 1000..3600000")
    }), 15_000)

  it.scopedLive("OpenData 65535 opens no more than the client's cap, and says so", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer([
        { _tag: "Welcome", heartbeatMs: 5_000, poolSize: 8, maxFrame: 0 },
        { _tag: "OpenData", count: 65_535 }
      ])
      const logs: Array<string> = []
      const client = yield* startClient(clientConfig(server.port, { heartbeat: 5 }), true, logs)
      assert.isTrue(yield* eventually(() => server.seen.connections >= MAX_IDLE_CHANNELS + 1, 10_000))
      yield* Effect.sleep(1_000) // anything beyond the cap would be arriving by now
      assert.strictEqual(server.seen.connections, MAX_IDLE_CHANNELS + 1, "the control channel and the capped data channels")
      assert.isTrue(logs.some((l) => l.includes(`server asked for 65535 more data channels`) && l.includes(`at most ${MAX_IDLE_CHANNELS}`)), logs.join("\n"))
      assert.strictEqual(client.value.stats.sessions, 1)
    }), 20_000)
})
