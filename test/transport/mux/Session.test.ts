/**
 * The multiplexer session on real loopback sockets: bad frames end that session only (never a crash or a
 * hang), and flow control bounds what a receiver holds — per stream by its window, per session by the
 * session bound — while a stalled stream never stops another.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { createHash } from "node:crypto"
import type { Conn, Sink } from "../../../src/net/Conn.ts"
import * as Tcp from "../../helpers/Net.ts"
import * as Frame from "../../../src/transport/mux/Frame.ts"
import { keepAlive, Session, type SessionEnd, type SessionOptions } from "../../../src/transport/mux/Session.ts"
import type { MuxStream } from "../../../src/transport/mux/Stream.ts"
import { eventually } from "../../helpers/Harness.ts"
import { pattern } from "../../helpers/Sockets.ts"

const socket = { nodelay: true, keepaliveSeconds: 0 }
const base = { maxFrame: 16384, streamWindow: 1 << 20, sessionWindow: 4 << 20 }

/** Two ends of one loopback TCP connection. */
const connected = Effect.gen(function*() {
  const accepted = yield* Deferred.make<Conn>()
  const address = yield* Tcp.listen({ host: "127.0.0.1", port: 0 }, socket, (conn) => Deferred.unsafeDone(accepted, Effect.succeed(conn)))
  const dialed = yield* Tcp.dial(address, socket, 5)
  return { opener: dialed, acceptor: yield* Deferred.await(accepted) }
})

/** An opener session and an acceptor session over one loopback connection. */
const sessions = (acceptor: Partial<SessionOptions> & Pick<SessionOptions, "onStream">, opener: Partial<SessionOptions> = {}) =>
  Effect.map(connected, (c) => ({
    opener: new Session(c.opener, { ...base, ...opener }, true).start(),
    acceptor: new Session(c.acceptor, { ...base, ...acceptor }, false).start()
  }))

/** An acceptor session fed raw bytes from a socket the test writes to; resolves with how it ended. */
const rawPeer = Effect.gen(function*() {
  const c = yield* connected
  const ended = yield* Deferred.make<SessionEnd>()
  const opened: Array<MuxStream> = []
  const session = new Session(c.acceptor, { ...base, onStream: (s) => opened.push(s) }, false).start()
  session.onClose((end) => Deferred.unsafeDone(ended, Effect.succeed(end)))
  return { raw: c.opener, session, ended, opened }
})

const data = (id: number, flags: number, payload: Buffer) =>
  Buffer.concat([Frame.header(Frame.Type.Data, flags, id, payload.length), payload])

/** A sink that takes nothing more after its first chunk (a stalled reader), counting what it got. */
const stalledSink = () => {
  const sink = { got: 0, write: (c: Uint8Array) => ((sink.got += c.length), false), end: () => {}, whenDrained: () => {} }
  return sink
}

/** A sink that hashes everything and resolves at the end. */
const hashingSink = (done: (hash: string, n: number) => void): Sink => {
  const hash = createHash("sha256")
  let n = 0
  return {
    write: (c) => ((n += c.length), hash.update(c), true),
    end: () => done(hash.digest("hex"), n),
    whenDrained: () => {}
  }
}

/** Writes `total` bytes of `pattern(seed)` to a stream with backpressure, then ends it. */
const pump = (stream: MuxStream, seed: number, total: number) => {
  const block = pattern(seed, 64 * 1024)
  let sent = 0
  const go = () => {
    while (sent < total) {
      sent += block.length
      if (!stream.write(block)) return stream.whenDrained({ resume: go })
    }
    stream.end()
  }
  go()
  return () => sent
}

describe("mux session: bad frames end that session only", () => {
  it.scopedLive("an unknown type, a wrong version, an oversized frame: a protocol error, the carrier closed", () =>
    Effect.gen(function*() {
      const cases = [
        Buffer.from([Frame.VERSION, 9, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]),
        Buffer.from([7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0x41]),
        Frame.header(Frame.Type.Data, Frame.Flag.SYN, 2, base.maxFrame + 1)
      ]
      for (const bytes of cases) {
        const { ended, raw, session } = yield* rawPeer
        raw.write(bytes)
        const end = yield* Deferred.await(ended).pipe(Effect.timeout(5_000))
        assert.strictEqual(end.reason, "Protocol")
        assert.isTrue(yield* eventually(() => raw.readEnded, 5_000)) // the peer was told (GoAway) and saw the end
        assert.strictEqual(session.load, 0)
      }
    }))

  it.scopedLive("more data than a stream's window, or than the session's, is a window overflow", () =>
    Effect.gen(function*() {
      // stream level: 256 KiB + 1 byte on one stream with no WindowUpdate from us
      const a = yield* rawPeer
      const chunk = Buffer.alloc(base.maxFrame, 1)
      const frames = [data(2, Frame.Flag.SYN, chunk)]
      for (let sent = chunk.length; sent < Frame.INITIAL_WINDOW; sent += chunk.length) frames.push(data(2, 0, chunk))
      frames.push(data(2, 0, Buffer.alloc(1)))
      a.raw.write(Buffer.concat(frames))
      const end = yield* Deferred.await(a.ended).pipe(Effect.timeout(5_000))
      assert.strictEqual(end.reason, "Protocol")
      assert.include(end.detail, "window overflow")
      assert.isTrue(a.opened[0]!.closed)
      // session level: the peer never raised our session window past its initial 256 KiB for us, but
      // it did for itself; 17 streams × 16 KiB each = 272 KiB is past the 256 KiB we may send it… the
      // other way round: the acceptor granted 4 MiB, so send 4 MiB + 1 over many streams
      const b = yield* rawPeer
      const many: Array<Buffer> = []
      let total = 0
      for (let id = 2; total <= base.sessionWindow; id += 2) {
        for (let k = 0; k < 8 && total <= base.sessionWindow; k++) {
          many.push(data(id, k === 0 ? Frame.Flag.SYN : 0, chunk))
          total += chunk.length
        }
      }
      b.raw.write(Buffer.concat(many))
      const end2 = yield* Deferred.await(b.ended).pipe(Effect.timeout(5_000))
      assert.strictEqual(end2.reason, "Protocol")
      assert.include(end2.detail, "session window overflow")
    }))

  it.scopedLive("a frame cut short by the peer closing ends the session as closed, with its streams reset", () =>
    Effect.gen(function*() {
      const { ended, opened, raw } = yield* rawPeer
      const whole = data(2, Frame.Flag.SYN, Buffer.alloc(1000, 7))
      raw.write(whole.subarray(0, 500))
      assert.isTrue(yield* eventually(() => opened.length === 1, 5_000))
      raw.end()
      const end = yield* Deferred.await(ended).pipe(Effect.timeout(5_000))
      assert.strictEqual(end.reason, "Closed")
      assert.isTrue(opened[0]!.closed)
      assert.isFalse(opened[0]!.readEnded) // a reset, not an end
    }))

  it.scopedLive("random and mutated bytes never throw or hang; a session beside them keeps carrying", () =>
    Effect.gen(function*() {
      const good = yield* sessions({ onStream: (s) => s.forward(s) })
      const valid = Buffer.concat([
        data(2, Frame.Flag.SYN, Buffer.from("hello")),
        Frame.header(Frame.Type.WindowUpdate, 0, 2, 1000),
        Frame.header(Frame.Type.Ping, Frame.Flag.SYN, 0, 7),
        data(2, Frame.Flag.FIN, Buffer.alloc(0))
      ])
      const inputs = FastCheck.sample(
        FastCheck.oneof(
          FastCheck.uint8Array({ minLength: 1, maxLength: 400 }).map((b) => Buffer.from(b)),
          FastCheck.tuple(FastCheck.nat(valid.length - 1), FastCheck.integer({ min: 0, max: 255 })).map(([i, v]) => {
            const b = Buffer.from(valid)
            b[i] = v
            return b
          })
        ),
        { numRuns: 60, seed: 4242 }
      )
      for (const bytes of inputs) {
        const peer = yield* rawPeer
        peer.raw.write(bytes)
        peer.raw.end()
        const end = yield* Deferred.await(peer.ended).pipe(Effect.timeout(5_000))
        assert.include(["Protocol", "Closed", "GoAway"], end.reason)
      }
      const stream = good.opener.open()!
      const echoed = yield* Effect.async<string>((resume) => {
        stream.forward(hashingSink((hash) => resume(Effect.succeed(hash))))
        pump(stream, 9, 1 << 20)
      })
      assert.strictEqual(echoed, createHash("sha256").update(Buffer.concat(Array.from({ length: 16 }, () => pattern(9, 64 * 1024)))).digest("hex"))
    }), 60_000)
})

describe("mux session: GoAway", () => {
  it.scopedLive("a peer's GoAway with a stream open: keepAlive returns at once, the stream still finishes, then the session closes", () =>
    Effect.gen(function*() {
      const done = yield* Deferred.make<number>()
      const { acceptor, opener } = yield* sessions({
        onStream: (s) =>
          s.forward(hashingSink((_, n) => {
            s.end()
            Deferred.unsafeDone(done, Effect.succeed(n))
          }))
      })
      const stream = opener.open()!
      stream.write(Buffer.from("before"))
      assert.isTrue(yield* eventually(() => acceptor.load === 1, 5_000))
      const alive = yield* Effect.fork(keepAlive(acceptor, 1_000))
      opener.goAway(Frame.GoAway.Normal)
      const end = yield* alive.await.pipe(Effect.flatten, Effect.timeout(5_000))
      assert.strictEqual(end.reason, "GoAway")
      assert.isUndefined(acceptor.ended) // still draining: the open stream goes on
      assert.isUndefined(opener.open()) // no new streams on a session going away
      stream.write(Buffer.from(" and after"))
      stream.end()
      assert.strictEqual(yield* Deferred.await(done).pipe(Effect.timeout(5_000)), "before and after".length)
      assert.isTrue(yield* eventually(() => acceptor.ended !== undefined && opener.ended !== undefined, 5_000))
    }))
})

describe("mux session: flow control", () => {
  it.scopedLive("a stalled reader holds at most its 256 KiB window, and a second stream on the session goes at full speed", () =>
    Effect.gen(function*() {
      const stalled = stalledSink()
      const finished = yield* Deferred.make<{ hash: string; n: number }>()
      const received: Array<MuxStream> = []
      const { acceptor, opener } = yield* sessions({
        onStream: (s) => {
          received.push(s)
          if (received.length === 1) s.forward(stalled)
          else s.forward(hashingSink((hash, n) => Deferred.unsafeDone(finished, Effect.succeed({ hash, n }))))
        }
      })
      const a = opener.open()!
      const b = opener.open()!
      const sentA = pump(a, 1, 8 << 20)
      pump(b, 2, 16 << 20)
      const result = yield* Deferred.await(finished).pipe(Effect.timeout(20_000))
      assert.strictEqual(result.n, 16 << 20)
      const expected = createHash("sha256")
      for (let i = 0; i < 256; i++) expected.update(pattern(2, 64 * 1024))
      assert.strictEqual(result.hash, expected.digest("hex"))
      // the stalled stream: what reached the receiver (all of it went to the stalled sink, which holds it
      // as a socket's queue would) is bounded by the window it was granted
      const heldA = stalled.got
      assert.isAtMost(heldA, Frame.INITIAL_WINDOW)
      assert.isAtLeast(heldA, Frame.INITIAL_WINDOW - 64 * 1024)
      assert.isBelow(sentA(), 8 << 20) // the sender was held back, not buffered into the receiver
      assert.strictEqual(acceptor.load, 2)
    }), 30_000)

  it.scopedLive("many stalled streams together never hold more than the session bound", () =>
    Effect.gen(function*() {
      const sessionWindow = 2 << 20 // 8 windows of 256 KiB
      const sinks: Array<ReturnType<typeof stalledSink>> = []
      const received: Array<MuxStream> = []
      const { opener } = yield* sessions({
        sessionWindow,
        onStream: (s) => {
          const sink = stalledSink()
          sinks.push(sink)
          received.push(s)
          s.forward(sink)
        }
      })
      const senders = Array.from({ length: 40 }, (_, i) => pump(opener.open()!, i + 1, 4 << 20))
      yield* Effect.sleep(1_500)
      const held = sinks.reduce((n, s) => n + s.got, 0)
      assert.isAtMost(held, sessionWindow)
      assert.isAtLeast(held, sessionWindow - 64 * 1024 * 8) // the bound, not something smaller, was the limit
      for (const s of sinks) assert.isAtMost(s.got, Frame.INITIAL_WINDOW)
      // none of it past each stream's first delivery was credited back: a stalled reader's bytes stay
      // counted against the session
      assert.isAbove(received.reduce((n, s) => n + s.heldBytes, 0), held / 2)
      assert.isAtMost(senders.reduce((n, sent) => n + sent(), 0), 40 * (Frame.INITIAL_WINDOW + 64 * 1024))
    }), 30_000)

  it.scopedLive("a reader that keeps up grows its window beyond the initial 256 KiB, up to the stream bound", () =>
    Effect.gen(function*() {
      const done = yield* Deferred.make<number>()
      const received: Array<MuxStream> = []
      yield* sessions({
        onStream: (s) => {
          received.push(s)
          s.forward(hashingSink((_, n) => Deferred.unsafeDone(done, Effect.succeed(n))))
        }
      }).pipe(Effect.tap(({ opener }) => pump(opener.open()!, 3, 64 << 20)))
      const n = yield* Deferred.await(done).pipe(Effect.timeout(30_000))
      assert.strictEqual(n, 64 << 20)
      assert.isAbove(received[0]!.receiveWindow, Frame.INITIAL_WINDOW)
      assert.isAtMost(received[0]!.receiveWindow, base.streamWindow)
    }), 40_000)
})
