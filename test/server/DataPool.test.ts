/**
 * The pooled strategy's server state — which session is live (`Sessions`), the data pool (`DataPool`) and
 * the users waiting (`Waiters`) — with fake channels and a fake session.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import * as AuthLimiter from "../../src/server/AuthLimiter.ts"
import { type DataChannel, DataPool } from "../../src/server/DataPool.ts"
import { type SessionInit, Sessions } from "../../src/server/Sessions.ts"
import { Waiters } from "../../src/server/Waiters.ts"
import type { Frame } from "../../src/protocol/Protocol.ts"

let counter = 0
const channel = () => ({ conn: MemoryConn.pair("test")[0], id: { sessionId: Buffer.alloc(16), counter: ++counter }, uses: 0 })
type Bare = ReturnType<typeof channel>

const session = (id: string, instance = "i-" + id) => {
  const sent: Array<Frame> = []
  const closed: Array<string> = []
  const live: SessionInit = {
    id,
    instance,
    remote: "127.0.0.1:1",
    host: "127.0.0.1",
    send: (f: Frame) => sent.push(f),
    close: (r: string) => closed.push(r)
  }
  return { sent, closed, live }
}

const asked = (sent: ReadonlyArray<Frame>) =>
  sent.reduce((n, f) => n + (f._tag === "OpenData" ? f.count : 0), 0)

/** The pieces wired as `PooledChannels` wires them (a pool per live session), behind one object. */
const Hub = {
  make: (options: { poolSize: number; channelSize: number; waitMillis: number; maxClients?: number }) => {
    const sessions = new Sessions(options.maxClients)
    const waiters = new Waiters<DataChannel>(options)
    const pools = new Map<string, DataPool>()
    sessions.watch({
      installed: (s) => pools.set(s.id, new DataPool(s, waiters, options.poolSize, () => pools.size)),
      uninstalled: (s) => {
        pools.get(s.id)?.close()
        pools.delete(s.id)
      }
    })
    const first = () => pools.values().next().value as DataPool | undefined
    return {
      sessions,
      install: (s: SessionInit) => sessions.install(s),
      uninstall: (id: string, dead = false) => sessions.uninstall(id, dead),
      isLive: (id: string) => sessions.isLive(id),
      admit: sessions.admit.bind(sessions),
      get waiting() {
        return waiters.size
      },
      get readyCount() {
        let n = 0
        for (const p of pools.values()) n += p.readyCount
        return n
      },
      offer: (id: string, c: Bare): boolean => {
        const pool = pools.get(id)
        return pool !== undefined && pool.offer(Object.assign(c, { pool }))
      },
      release: (c: DataChannel, reusable: boolean) => c.pool.release(c, reusable),
      take: () => first()!.take(),
      shrink: (ms: number) => first()!.shrink(ms),
      heal: (ms: number) => first()!.heal(ms)
    }
  }
}

describe("data pool", () => {
  it("asks for the pool on install, and for more only when under half of it is ready or coming", () =>
    Effect.runPromise(Effect.gen(function*() {
      const hub = Hub.make({ poolSize: 4, channelSize: 10, waitMillis: 1000 })
      const id = Buffer.alloc(16).toString("hex") // the session of every test channel
      const s = session(id)
      hub.install(s.live)
      assert.strictEqual(asked(s.sent), 4)
      for (let i = 0; i < 4; i++) assert.isTrue(hub.offer(id, channel()))
      assert.strictEqual(hub.readyCount, 4)
      const first = yield* hub.take()
      yield* hub.take()
      assert.strictEqual(asked(s.sent), 4) // 2 of 4 ready: enough
      yield* hub.take()
      assert.strictEqual(asked(s.sent), 7) // 1 ready: back up to 4
      // a connection that ended cleanly gives its channel back; one that did not closes it
      hub.release(first, true)
      assert.strictEqual(hub.readyCount, 2)
      const broken = yield* hub.take()
      hub.release(broken, false)
      assert.isTrue(broken.conn.closed)
      // channels asked for that never arrive are asked for again on heal
      hub.heal(-1)
      assert.isAbove(asked(s.sent), 7)
    })))

  it("a released channel goes to a waiting user first, else back to the pool, most recent first", () =>
    Effect.runPromise(Effect.gen(function*() {
      const hub = Hub.make({ poolSize: 1, channelSize: 10, waitMillis: 5000 })
      const id = Buffer.alloc(16).toString("hex")
      hub.install(session(id).live)
      hub.offer(id, channel())
      const busy = yield* hub.take()
      const waiting = yield* Effect.fork(hub.take())
      yield* Effect.yieldNow()
      hub.release(busy, true)
      assert.strictEqual(yield* Fiber.join(waiting), busy)
      // a pool holding more than its size still keeps what comes back: the next burst needs it
      hub.offer(id, channel())
      hub.offer(id, channel())
      hub.release(busy, true)
      assert.isFalse(busy.conn.closed)
      assert.strictEqual(hub.readyCount, 3)
      assert.strictEqual(yield* hub.take(), busy)
    })))

  it("shrink closes the surplus beyond the pool size once it has been idle long enough, oldest first", () => {
    const hub = Hub.make({ poolSize: 2, channelSize: 10, waitMillis: 5000 })
    const id = Buffer.alloc(16).toString("hex")
    hub.install(session(id).live)
    const channels = [channel(), channel(), channel(), channel()]
    for (const c of channels) hub.offer(id, c)
    hub.shrink(60_000) // nobody idle that long yet
    assert.strictEqual(hub.readyCount, 4)
    hub.shrink(-1)
    assert.strictEqual(hub.readyCount, 2)
    assert.deepStrictEqual(channels.map((c) => c.conn.closed), [true, true, false, false])
    hub.shrink(-1) // never below the pool size
    assert.strictEqual(hub.readyCount, 2)
  })

  it("admits each data-channel counter of the live session once", () => {
    const hub = Hub.make({ poolSize: 0, channelSize: 10, waitMillis: 1000 })
    const sessionId = Buffer.alloc(16, 0xab)
    hub.install(session(sessionId.toString("hex")).live)
    assert.strictEqual(hub.admit({ sessionId, counter: 2 }), "ok")
    assert.strictEqual(hub.admit({ sessionId, counter: 1 }), "ok")
    assert.strictEqual(hub.admit({ sessionId, counter: 2 }), "replayed")
    assert.strictEqual(hub.admit({ sessionId: Buffer.alloc(16, 1), counter: 3 }), "unknown")
  })

  it("a waiting user gets the next channel offered, and demand covers every waiter", () =>
    Effect.runPromise(Effect.gen(function*() {
      const hub = Hub.make({ poolSize: 1, channelSize: 10, waitMillis: 5000 })
      const s = session("a")
      hub.install(s.live)
      const fibers = yield* Effect.forEach([1, 2], () => Effect.fork(hub.take()))
      yield* Effect.yieldNow()
      assert.strictEqual(hub.waiting, 2)
      assert.strictEqual(asked(s.sent), 3)
      const c = channel()
      hub.offer("a", c)
      const got = yield* Fiber.join(fibers[0]!)
      assert.strictEqual<unknown>(got, c)
      yield* Fiber.interrupt(fibers[1]!)
      assert.strictEqual(hub.waiting, 0)
    })))

  it("refuses beyond channelSize and times out a waiter", () =>
    Effect.runPromise(Effect.gen(function*() {
      const hub = Hub.make({ poolSize: 0, channelSize: 1, waitMillis: 50 })
      hub.install(session("a").live)
      const first = yield* Effect.fork(Effect.flip(hub.take()))
      yield* Effect.yieldNow()
      const second = yield* Effect.flip(hub.take())
      assert.strictEqual(second.reason, "Full")
      assert.strictEqual((yield* Fiber.join(first)).reason, "Timeout")
    })))

  it("channels of another session are refused; a reconnect of the same client replaces its session", () =>
    Effect.runPromise(Effect.gen(function*() {
      const hub = Hub.make({ poolSize: 2, channelSize: 10, waitMillis: 1000 })
      const a = session("a", "one")
      hub.install(a.live)
      const idle = channel()
      hub.offer("a", idle)
      assert.isFalse(hub.offer("zzz", channel()))
      const b = session("b", "one")
      hub.install(b.live)
      assert.deepStrictEqual(a.closed, ["replaced by a newer session of the same client"])
      assert.isTrue(idle.conn.closed)
      assert.strictEqual(hub.readyCount, 0)
      assert.isFalse(hub.offer("a", channel()))
      assert.isTrue(hub.isLive("b"))
      hub.uninstall("a")
      assert.isTrue(hub.isLive("b"))
      hub.uninstall("b")
      assert.strictEqual(hub.sessions.size, 0)
    })))

  it("clients of different instances are live together, each with its own pool, up to max_clients", () => {
    const hub = Hub.make({ poolSize: 1, channelSize: 10, waitMillis: 1000, maxClients: 2 })
    const a = session("a", "one")
    const b = session("b", "two")
    hub.install(a.live)
    assert.strictEqual(hub.sessions.mayStart("two", 60_000), true)
    hub.install(b.live)
    assert.deepStrictEqual([a.closed, b.closed], [[], []])
    assert.strictEqual(asked(a.sent), 1)
    assert.strictEqual(asked(b.sent), 1)
    assert.isTrue(hub.offer("a", channel()))
    assert.isTrue(hub.offer("b", channel()))
    assert.strictEqual(hub.readyCount, 2)
    // a third instance is refused while both are heard from; the same instance may always reconnect
    assert.strictEqual(hub.sessions.mayStart("three", 60_000), "TooManyClients")
    assert.strictEqual(hub.sessions.mayStart("two", 60_000), true)
    // a session silent for longer than the stale limit gives way to a new client
    hub.sessions.get("a")!.lastHeard = Date.now() - 120_000
    assert.strictEqual(hub.sessions.mayStart("three", 60_000), true)
    hub.install(session("c", "three").live)
    assert.deepStrictEqual(a.closed, ["replaced by another client (max_clients)"])
    assert.deepStrictEqual(hub.sessions.live.map((s) => s.id), ["b", "c"])
  })

  it("a session declared dead resets every channel that joined it, busy ones too; one that ended does not", () => {
    const hub = Hub.make({ poolSize: 0, channelSize: 10, waitMillis: 1000 })
    hub.install(session("a").live)
    hub.install(session("b").live)
    const busyA = channel()
    const busyB = channel()
    assert.isTrue(hub.sessions.track("a", busyA.conn))
    assert.isTrue(hub.sessions.track("b", busyB.conn))
    assert.isFalse(hub.sessions.track("gone", channel().conn))
    hub.uninstall("b", false)
    assert.isFalse(busyB.conn.closed)
    hub.uninstall("a", true)
    assert.isTrue(busyA.conn.closed)
  })

  it("skips idle channels that died while pooled", () =>
    Effect.runPromise(Effect.gen(function*() {
      const hub = Hub.make({ poolSize: 2, channelSize: 10, waitMillis: 1000 })
      hub.install(session("a").live)
      const dead = channel()
      const alive = channel()
      hub.offer("a", dead)
      hub.offer("a", alive)
      dead.conn.destroy()
      yield* Effect.sleep(5)
      assert.strictEqual<unknown>(yield* hub.take(), alive)
    })))

  it("heal re-asks for channels that never arrived", () => {
    const hub = Hub.make({ poolSize: 2, channelSize: 10, waitMillis: 1000 })
    const s = session("a")
    hub.install(s.live)
    assert.strictEqual(asked(s.sent), 2)
    hub.heal(60_000)
    assert.strictEqual(asked(s.sent), 2)
    hub.heal(-1)
    assert.strictEqual(asked(s.sent), 4)
  })
})

describe("AuthLimiter", () => {
  it("blocks an address after maxFailures within the window, and forgets it after", () => {
    const limiter = AuthLimiter.make({ maxFailures: 3, windowMillis: 1000 })
    for (let i = 0; i < 3; i++) {
      assert.isFalse(limiter.blocked("1.2.3.4", 100))
      limiter.fail("1.2.3.4", 100 + i)
    }
    assert.isTrue(limiter.blocked("1.2.3.4", 200))
    assert.isFalse(limiter.blocked("5.6.7.8", 200))
    assert.isFalse(limiter.blocked("1.2.3.4", 1200))
  })

  it("is idle until an address fails, and idle again once the window has passed", () => {
    const limiter = AuthLimiter.make({ maxFailures: 3, windowMillis: 50 })
    assert.isTrue(limiter.idle)
    limiter.fail("1.2.3.4")
    assert.isFalse(limiter.idle)
    const until = Date.now() + 60
    while (Date.now() < until) { /* the window passes */ }
    assert.isTrue(limiter.idle)
    assert.isFalse(limiter.blocked("1.2.3.4"))
  })

  it("stays bounded under a flood of addresses", () => {
    const limiter = AuthLimiter.make({ maxFailures: 1, windowMillis: 10, maxEntries: 100 })
    for (let i = 0; i < 10_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`, i)
    assert.isTrue(limiter.blocked("10.0.39.15", 9_999))
  })
})
