/**
 * The benchmark's bare two-hop relay is a reference the tunnel is compared with, so it has to do the
 * same job: every byte, both ways, with half-close, and nothing left open afterwards. Started the way
 * the benchmark starts it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readdirSync, readlinkSync } from "node:fs"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { transfer } from "../helpers/Sockets.ts"
// @ts-expect-error: a plain JavaScript module of the benchmark, without types
import { startTwoHop } from "../../scripts/bench/relay.mjs"

interface TwoHop {
  readonly missing?: string
  readonly port: number
  readonly pids: ReadonlyArray<number>
  readonly stop: () => Promise<unknown>
}

/** The relay for the life of the scope. */
const twoHop = (target: number) =>
  Effect.acquireRelease(
    Effect.promise(() => startTwoHop(target) as Promise<TwoHop>),
    (relay) => Effect.promise(() => relay.missing ? Promise.resolve() : relay.stop())
  )

/** Sockets a process holds open (its listener included). */
const openSockets = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")
    } catch {
      return false // closed meanwhile
    }
  }).length

describe("bench two-hop relay", () => {
  it.scopedLive("carries every byte both ways with half-close, and closes what it opened", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const relay = yield* twoHop(echo.port)
      assert.isUndefined(relay.missing)
      const before = relay.pids.map(openSockets)
      const runs = yield* Effect.all(
        [transfer(relay.port, 16 * 1024 * 1024), transfer(relay.port, 3 * 1024 * 1024, "127.0.0.1", 1000), transfer(relay.port, 4)],
        { concurrency: "unbounded" }
      )
      for (const t of runs) {
        assert.strictEqual(t.received, t.sent)
        assert.strictEqual(t.receivedHash, t.sentHash)
      }
      yield* Effect.sleep(300)
      assert.deepStrictEqual(relay.pids.map(openSockets), before)
    }), 60_000)
})
