/**
 * One multiplexer session over one carrier connection: the frame parser (in place, payloads handed to
 * their stream as they arrive), the stream table, both levels of credit, pings with a round-trip
 * estimate, and GoAway. A frame that breaks the rules — an unknown type or version, one over
 * `maxFrame`, more data than the credit granted, garbage — fails this session only: its streams are
 * reset and its carrier closed; other sessions and the process go on.
 *
 * Only the side that opens streams (`opener`, the server) allocates ids (even, from 2); the other side
 * accepts them (`onStream`). Ids only grow, so they never clash; a session whose ids run out sends
 * GoAway and is replaced.
 *
 * Per-frame path: callbacks only. `keepAlive` is the one Effect: pings on a Schedule, raced with the
 * session's end, and a GoAway when its scope closes.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { Conn, Peer, Resumable, Sink } from "../../net/Conn.ts"
import * as Frame from "./Frame.ts"
import { MuxStream, type StreamHost } from "./Stream.ts"

/** How a session ended. */
export interface SessionEnd {
  readonly reason: "Protocol" | "Timeout" | "Closed" | "GoAway"
  readonly detail: string
}

/** Settings of one session. */
export interface SessionOptions {
  /** largest Data payload sent and accepted */
  readonly maxFrame: number
  /** the largest window a stream's receiver grows to */
  readonly streamWindow: number
  /** the most bytes all streams together may have in flight towards this side */
  readonly sessionWindow: number
  /** the peer opened a stream; without it, incoming streams are refused (RST) */
  readonly onStream?: (stream: MuxStream) => void
}

/** Heartbeats missed in a row before the peer counts as dead. */
export const MISSED_PINGS = 3

/** Payloads up to this size go out in one write with their header (a copy is cheaper than a system call). */
const JOIN_BELOW = 64 * 1024 - Frame.HEADER_BYTES

/** One header buffer for every frame written with `writePair` (which is done with it on return). */
const scratch = Buffer.allocUnsafe(Frame.HEADER_BYTES)

export class Session implements Sink, StreamHost, Resumable {
  readonly streams = new Map<number, MuxStream>()
  /** what the peer lets us send, all streams together */
  sessionCredit = Frame.INITIAL_WINDOW
  rttMillis = 1
  /** when a frame last arrived (ms since the epoch) */
  lastHeard = Date.now()
  /** set once the session is over */
  ended: SessionEnd | undefined
  /** GoAway sent or received: no new streams; the session closes once its streams are done */
  draining = false
  /** the carrier asked us to wait: streams queue until it drains */
  congested = false
  readonly maxFrame: number
  private recvCredit: number
  private taken = 0
  private nextId = 2
  private lastIncoming = 0
  private waiting = new Set<MuxStream>()
  private pingValue = 0
  private pingSentAt = 0
  private closeCallbacks: Array<(end: SessionEnd) => void> = []
  private goAwayCallbacks: Array<() => void> = []
  // parser state
  private split: Buffer | undefined
  private headerHave = 0
  private payloadLeft = 0
  private payloadStream: MuxStream | undefined
  private payloadFlags = 0
  private payloadId = 0

  constructor(
    readonly carrier: Conn,
    private readonly options: SessionOptions,
    /** this side opens streams (the server) */
    private readonly opener: boolean
  ) {
    this.maxFrame = options.maxFrame
    this.recvCredit = Frame.INITIAL_WINDOW
  }

  /** Starts reading the carrier and raises the peer's session credit to our bound. */
  start(): this {
    this.carrier.onClose(this.carrierClosed)
    const raise = this.options.sessionWindow - Frame.INITIAL_WINDOW
    if (raise > 0) {
      this.recvCredit += raise
      this.send(Frame.Type.WindowUpdate, 0, 0, raise)
    }
    this.ping()
    this.carrier.forward(this)
    return this
  }

  get peer(): Peer {
    return this.carrier.peer
  }

  /** streams open now: how loaded the session is */
  get load(): number {
    return this.streams.size
  }

  /** Opens a stream (zero round trips: its SYN rides on its first frame); undefined if none can be. */
  open(): MuxStream | undefined {
    if (this.ended !== undefined || this.draining || !this.opener) return undefined
    if (this.nextId > Frame.LAST_STREAM_ID) {
      this.goAway(Frame.GoAway.Normal)
      return undefined
    }
    const stream = new MuxStream(this.nextId, this, this.options.streamWindow, true)
    this.nextId += 2
    this.streams.set(stream.id, stream)
    return stream
  }

  /**
   * A ping if none is in flight: sent with every WindowUpdate, so the round-trip estimate that window
   * growth compares against includes the queueing of the moment. With only the heartbeat's ping the
   * estimate was the idle round trip, the first stream to grow filled the carrier, and the streams that
   * had not grown yet never saw their updates come fast enough to grow (measured: the slowest of 8 at
   * 0.2× its fair share).
   */
  probe(): void {
    if (this.pingSentAt === 0) this.ping()
  }

  /** Sends a ping; its answer refreshes the round-trip estimate. */
  ping(): void {
    if (this.ended !== undefined) return
    this.pingValue = (this.pingValue + 1) >>> 0
    this.pingSentAt = performance.now()
    this.send(Frame.Type.Ping, Frame.Flag.SYN, 0, this.pingValue)
  }

  /** Tells the peer no new streams will come; the session ends once its streams are done. */
  goAway(code: number): void {
    if (this.ended !== undefined) return
    if (!this.draining) this.send(Frame.Type.GoAway, 0, 0, code)
    this.draining = true
    if (this.streams.size === 0) this.close({ reason: "GoAway", detail: "going away" })
  }

  /** Ends the session: every stream is reset, the carrier closed (after what is queued, when `clean`). */
  close(end: SessionEnd, clean = true): void {
    if (this.ended !== undefined) return
    this.ended = end
    const streams = [...this.streams.values()]
    this.streams.clear()
    this.waiting.clear()
    for (const s of streams) s.lost()
    this.carrier.offClose(this.carrierClosed)
    if (clean) this.carrier.close()
    else this.carrier.destroy()
    const callbacks = this.closeCallbacks
    this.closeCallbacks = []
    for (const f of callbacks) f(end)
  }

  /** A protocol error: the peer is told (GoAway), then everything of this session is torn down. */
  fail(detail: string): void {
    if (this.ended !== undefined) return
    this.send(Frame.Type.GoAway, 0, 0, Frame.GoAway.ProtocolError)
    this.close({ reason: "Protocol", detail })
  }

  /** Calls `f` once if the peer sends GoAway while streams are still open (the session drains on). */
  onGoAway(f: () => void): void {
    this.goAwayCallbacks.push(f)
  }

  /** Calls `f` once when the session ends (at once if it has). */
  onClose(f: (end: SessionEnd) => void): void {
    if (this.ended !== undefined) f(this.ended)
    else this.closeCallbacks.push(f)
  }

  private readonly carrierClosed = (): void => {
    this.close({ reason: "Closed", detail: this.carrier.readEnded ? "peer closed the connection" : "connection reset" }, false)
  }

  // ---------------------------------------------------------------------------------------------------
  // StreamHost

  send(type: Frame.FrameType, flags: number, id: number, length: number, payload?: Uint8Array, start = 0): void {
    const carrier = this.carrier
    if (this.ended !== undefined && type !== Frame.Type.GoAway) return
    let ok: boolean
    if (payload === undefined) {
      ok = carrier.write(Frame.header(type, flags, id, length))
    } else {
      const body = start === 0 && length === payload.length ? payload : payload.subarray(start, start + length)
      if (length < JOIN_BELOW) {
        ok = carrier.writePair(Frame.writeHeader(scratch, 0, type, flags, id, length), body)
      } else {
        const headerTaken = carrier.write(Frame.header(type, flags, id, length))
        ok = carrier.write(body) && headerTaken
      }
    }
    this.wrote(ok)
  }

  /** a write the carrier did not take whole: nothing more goes out until it drains */
  private wrote(ok: boolean): void {
    if (!ok && !this.congested) {
      this.congested = true
      this.carrier.whenDrained(this)
    }
  }

  sendData(flags: number, id: number, chunk: Uint8Array, start: number, length: number): void {
    const maxFrame = this.maxFrame
    if (length <= maxFrame) {
      this.send(Frame.Type.Data, flags, id, length, chunk, start)
      return
    }
    // several frames at once: headers and payloads joined in one buffer, one write (one system call)
    const frames = Math.ceil(length / maxFrame)
    const out = Buffer.allocUnsafe(length + frames * Frame.HEADER_BYTES)
    let o = 0
    for (let at = start, left = length; left > 0; flags = 0) {
      const n = Math.min(left, maxFrame)
      Frame.writeHeader(out, o, Frame.Type.Data, flags, id, n)
      out.set(chunk.subarray(at, at + n), o + Frame.HEADER_BYTES)
      o += Frame.HEADER_BYTES + n
      at += n
      left -= n
    }
    this.wrote(this.carrier.write(out))
  }

  blocked(stream: MuxStream): void {
    this.waiting.add(stream)
  }

  consumed(bytes: number): void {
    this.taken += bytes
    if (this.taken >= this.options.sessionWindow / 4) {
      const delta = this.taken
      this.taken = 0
      this.recvCredit += delta
      this.send(Frame.Type.WindowUpdate, 0, 0, delta)
    }
  }

  forget(stream: MuxStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id)
    this.waiting.delete(stream)
    if (this.draining && this.streams.size === 0) this.close({ reason: "GoAway", detail: "going away" })
  }

  /** the carrier drained */
  resume(): void {
    this.congested = false
    this.wake()
  }

  /**
   * Gives waiting streams their turn, in the order they waited. Once the carrier is full again the turns
   * stop: the streams that have not had one keep their place at the front, ahead of those that just
   * wrote and wait again — otherwise the first in line would refill the carrier on every drain and the
   * others starve (measured: the slowest of 8 streams at 0.2× its fair share).
   */
  private wake(): void {
    if (this.waiting.size === 0) return
    const list = [...this.waiting]
    this.waiting.clear()
    for (let i = 0; i < list.length; i++) {
      if (this.congested) {
        const wrote = this.waiting
        this.waiting = new Set(list.slice(i))
        for (const s of wrote) this.waiting.add(s)
        return
      }
      list[i]!.flush()
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Sink: the carrier's bytes

  write(chunk: Buffer): boolean {
    this.lastHeard = Date.now()
    let at = 0
    const length = chunk.length
    while (at < length && this.ended === undefined) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, length - at)
        this.payloadLeft -= n
        const stream = this.payloadStream
        if (stream !== undefined) stream.deliver(chunk, at, at + n)
        else this.consumed(n) // for a stream that is gone: nobody reads it
        at += n
        if (this.payloadLeft === 0) this.afterPayload()
        continue
      }
      let h: Buffer
      let o: number
      if (this.headerHave === 0 && length - at >= Frame.HEADER_BYTES) {
        h = chunk
        o = at
        at += Frame.HEADER_BYTES
      } else {
        const split = (this.split ??= Buffer.allocUnsafe(Frame.HEADER_BYTES))
        const n = Math.min(Frame.HEADER_BYTES - this.headerHave, length - at)
        chunk.copy(split, this.headerHave, at, at + n)
        this.headerHave += n
        at += n
        if (this.headerHave < Frame.HEADER_BYTES) break
        this.headerHave = 0
        h = split
        o = 0
      }
      this.frame(h[o]!, h[o + 1]!, h.readUInt16BE(o + 2), h.readUInt32BE(o + 4), h.readUInt32BE(o + 8))
    }
    return true
  }

  end(): void {
    this.close({ reason: "Closed", detail: "peer closed the connection" })
  }

  whenDrained(): void {} // `write` never asks the carrier to wait

  /** One frame header, already read. */
  private frame(version: number, type: number, flags: number, id: number, length: number): void {
    const problem = Frame.check(version, type, flags, id, length, this.maxFrame)
    if (problem !== undefined) return this.fail(problem)
    switch (type) {
      case Frame.Type.Data: {
        if (length > this.recvCredit) return this.fail(`session window overflow: ${length} bytes, ${this.recvCredit} granted`)
        this.recvCredit -= length
        const stream = this.streamFor(id, flags)
        if (this.ended !== undefined) return
        if (stream !== undefined && !stream.admit(length)) {
          return this.fail(`stream ${id} window overflow: ${length} bytes beyond its credit`)
        }
        this.payloadStream = stream
        this.payloadFlags = flags
        this.payloadId = id
        this.payloadLeft = length
        if (length === 0) this.afterPayload()
        return
      }
      case Frame.Type.WindowUpdate: {
        if (id === 0) {
          if (this.sessionCredit + length > Frame.MAX_WINDOW) return this.fail("session window update overflows")
          this.sessionCredit += length
          if (this.sessionCredit > 0) this.wake()
          return
        }
        const stream = this.streamFor(id, flags)
        if (stream === undefined || this.ended !== undefined) return
        if (length > 0 && !stream.grant(length)) return this.fail(`stream ${id} window update overflows`)
        this.streamFlags(stream, flags)
        return
      }
      case Frame.Type.Ping:
        if (flags & Frame.Flag.SYN) this.send(Frame.Type.Ping, Frame.Flag.ACK, 0, length)
        else if (flags & Frame.Flag.ACK && length === this.pingValue && this.pingSentAt > 0) {
          const sample = performance.now() - this.pingSentAt
          this.pingSentAt = 0
          this.rttMillis = this.rttMillis * 0.5 + sample * 0.5
        }
        return
      default: {
        this.draining = true
        if (length !== Frame.GoAway.Normal) {
          return this.close({ reason: "GoAway", detail: `peer went away: ${length === 1 ? "protocol error" : "internal error"}` })
        }
        if (this.streams.size === 0) return this.close({ reason: "GoAway", detail: "peer went away" })
        const waiting = this.goAwayCallbacks
        this.goAwayCallbacks = []
        for (const f of waiting) f()
      }
    }
  }

  private afterPayload(): void {
    const stream = this.payloadStream
    this.payloadStream = undefined
    if (stream !== undefined) this.streamFlags(stream, this.payloadFlags)
    else if (this.payloadFlags & Frame.Flag.SYN) this.refuse(this.payloadId)
  }

  private streamFlags(stream: MuxStream, flags: number): void {
    if (flags & Frame.Flag.RST) stream.receivedRst()
    else if (flags & Frame.Flag.FIN) stream.receivedFin()
  }

  /**
   * The stream a frame is for: a new one on SYN (when this side accepts streams), the open one
   * otherwise, or undefined for one already gone. Ids the peer could not have used fail the session.
   */
  private streamFor(id: number, flags: number): MuxStream | undefined {
    const ours = (id % 2 === 0) === this.opener
    if (flags & Frame.Flag.SYN) {
      if (ours) {
        this.fail(`peer opened stream ${id}, an id only this side may use`)
        return undefined
      }
      if (id <= this.lastIncoming) {
        this.fail(`peer reopened stream ${id} (ids must grow)`)
        return undefined
      }
      this.lastIncoming = id
      const onStream = this.options.onStream
      if (onStream === undefined || this.draining) return undefined // refused once its payload is read
      const stream = new MuxStream(id, this, this.options.streamWindow, false)
      this.streams.set(id, stream)
      onStream(stream)
      return stream
    }
    const stream = this.streams.get(id)
    if (stream === undefined && (ours ? id >= this.nextId : id > this.lastIncoming)) {
      this.fail(`frame for stream ${id}, which was never opened`)
    }
    return stream
  }

  private refuse(id: number): void {
    this.send(Frame.Type.WindowUpdate, Frame.Flag.RST, id, 0)
  }
}

/**
 * Keeps a session alive until it ends, or until the peer sends GoAway while streams are still open (the
 * session then drains on its own, and its owner may open a replacement at once): a ping every heartbeat,
 * and the session closed as dead when nothing arrived for `MISSED_PINGS` heartbeats. Interrupting it (its control session ended, or its
 * scope closed) sends GoAway: no new streams, and the session closes once the live ones are done (the
 * carrier's owner destroys it outright when the whole endpoint stops). Succeeds with how it ended.
 */
export const keepAlive = (session: Session, heartbeatMillis: number): Effect.Effect<SessionEnd> => {
  const deadAfter = heartbeatMillis * MISSED_PINGS + Math.min(heartbeatMillis, 1000)
  // a few looks per heartbeat, so a dead peer is noticed close to the deadline
  const checks = Math.max(1, Math.min(4, Math.floor(heartbeatMillis / 250)))
  let n = 0
  const beat = Effect.sync(() => {
    const silent = Date.now() - session.lastHeard
    if (silent > deadAfter) {
      return session.close({ reason: "Timeout", detail: `peer silent for ${silent} ms (${MISSED_PINGS} pings missed)` }, false)
    }
    if (n++ % checks === 0) session.ping()
  })
  const ended = Effect.async<SessionEnd>((resume) => {
    session.onClose((end) => resume(Effect.succeed(end)))
    session.onGoAway(() => resume(Effect.succeed({ reason: "GoAway", detail: "peer went away; draining" })))
  })
  const pinger = beat.pipe(Effect.repeat(Schedule.spaced(heartbeatMillis / checks)), Effect.zipRight(Effect.never))
  return Effect.raceFirst(ended, pinger).pipe(
    Effect.onInterrupt(() => Effect.sync(() => session.goAway(Frame.GoAway.Normal)))
  )
}
