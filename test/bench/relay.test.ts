/**
 * The benchmark's bare two-hop relay is a reference the tunnel is compared with, so it has to do the
 * same job: every byte, both ways, with half-close, and nothing left open afterwards.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import { transfer } from "../helpers/Sockets.ts"

const root = join(import.meta.dirname, "..", "..")
const bun = join(root, "node_modules", "bun", "bin", "bun.exe")
const script = join(root, "scripts", "bench", "children", "relay.mjs")

/** One relay hop for the life of the scope (it exits when its stdin closes). */
const hop = (listen: number, target: number) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const child = spawn(bun, [script, String(listen), String(target)], { stdio: ["pipe", "pipe", "inherit"] })
      child.stdout!.once("data", () => resume(Effect.succeed(child)))
      child.once("exit", (code) => resume(Effect.fail(new Error(`relay hop exited ${code}`))))
    }),
    (child) => Effect.sync(() => child.kill())
  )

/** Sockets a process holds open (its listener included). */
const openSockets = (child: ChildProcess) =>
  readdirSync(`/proc/${child.pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${child.pid}/fd/${fd}`).startsWith("socket:")
    } catch {
      return false // closed meanwhile
    }
  }).length

describe("bench two-hop relay", () => {
  it.scopedLive("carries every byte both ways with half-close, and closes what it opened", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const [front, middle] = [yield* freePort(), yield* freePort()]
      const second = yield* hop(middle, echo.port)
      const first = yield* hop(front, middle)
      const before = [openSockets(first), openSockets(second)]
      const runs = yield* Effect.all(
        [transfer(front, 16 * 1024 * 1024), transfer(front, 3 * 1024 * 1024, "127.0.0.1", 1000), transfer(front, 4)],
        { concurrency: "unbounded" }
      )
      for (const t of runs) {
        assert.strictEqual(t.received, t.sent)
        assert.strictEqual(t.receivedHash, t.sentHash)
      }
      yield* Effect.sleep(300)
      assert.deepStrictEqual([openSockets(first), openSockets(second)], before)
    }), 60_000)
})
