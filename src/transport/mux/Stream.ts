/**
 * One stream of a multiplexer session, as a `Conn`: everything above it (handshake reads, the byte pump)
 * treats it like a socket. Writes go out as Data frames within the peer's credit; what does not fit waits
 * here, in order, and `write` returns false until WindowUpdates make room. Reads come from the session's
 * parser (`deliver`); credit is handed back as the local side takes the bytes, and withheld while it is
 * paused, so a stalled reader holds at most its window and never the session's.
 *
 * Per-frame path: no Effect, no closures, headers written into one shared buffer.
 */
import { ConnBase, type Peer, type Sink } from "../../net/Conn.ts"
import * as Frame from "./Frame.ts"

/** What a stream needs of its session (implemented by `Session`). */
export interface StreamHost {
  readonly peer: Peer
  readonly maxFrame: number
  /** the session's send credit left (the peer's session window) */
  sessionCredit: number
  /** the carrier asked to wait: nothing more is written until it drains */
  readonly congested: boolean
  /** writes a frame with an optional payload range (a full carrier shows as `congested`) */
  send(type: Frame.FrameType, flags: number, id: number, length: number, payload?: Uint8Array, start?: number): void
  /** writes `length` bytes of `chunk` from `start` as Data frames of at most `maxFrame` each */
  sendData(flags: number, id: number, chunk: Uint8Array, start: number, length: number): void
  /** this stream waits for session credit or for the carrier to drain */
  blocked(stream: MuxStream): void
  /** bytes the local side took: session credit may go back */
  consumed(bytes: number): void
  /** the stream is over; forget it */
  forget(stream: MuxStream): void
  /** round-trip time estimate, ms */
  readonly rttMillis: number
  /** measures the round trip again if no measurement is under way */
  probe(): void
}

export class MuxStream extends ConnBase {
  // send side
  /** what the peer lets us send on this stream */
  private credit = Frame.INITIAL_WINDOW
  private queue: Array<Uint8Array> | undefined
  private queueStart = 0
  /** the first frame we send carries SYN (we opened it) or ACK (the peer did) */
  private openFlag: number
  private endQueued = false
  private finSent = false
  // receive side
  /** what the peer may still send before our next WindowUpdate */
  private recvCredit = Frame.INITIAL_WINDOW
  /** the credit we aim for: grows while the reader keeps up */
  private window = Frame.INITIAL_WINDOW
  /** bytes the local side took since the last WindowUpdate */
  private taken = 0
  /** bytes delivered while nobody was taking them (paused, or not yet forwarded) */
  private held = 0
  private lastUpdate = 0
  private flowing = false
  private readPaused = false
  private finReceived = false

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    /** the largest window this side grants */
    private readonly maxWindow: number,
    opener: boolean
  ) {
    super()
    this.openFlag = opener ? Frame.Flag.SYN : Frame.Flag.ACK
  }

  protected describePeer(): Peer {
    return this.host.peer
  }

  setKeepAlive(): void {} // the session's pings keep the carrier alive

  // ---------------------------------------------------------------------------------------------------
  // sending

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.endQueued) return true // nothing will drain: do not wait
    if (this.queue !== undefined) {
      this.queue.push(chunk)
      return false
    }
    return this.sendFrom(chunk, 0)
  }

  /** Sends `chunk[at..]` as far as credit allows; queues the rest. */
  private sendFrom(chunk: Uint8Array, at: number): boolean {
    const host = this.host
    while (at < chunk.length) {
      const n = host.congested ? 0 : Math.min(chunk.length - at, this.credit, host.sessionCredit)
      if (n <= 0) {
        this.queue = [chunk]
        this.queueStart = at
        host.blocked(this)
        return false
      }
      this.credit -= n
      host.sessionCredit -= n
      host.sendData(this.takeOpenFlag(), this.id, chunk, at, n)
      at += n
    }
    if (host.congested) {
      host.blocked(this)
      return false
    }
    return true
  }

  private takeOpenFlag(): number {
    const f = this.openFlag
    this.openFlag = 0
    return f
  }

  /** Credit arrived or the carrier drained: send what waits, then report drained to the writer. */
  flush(): void {
    if (this.closed) return
    const queue = this.queue
    if (queue !== undefined) {
      this.queue = undefined
      while (queue.length > 0) {
        const chunk = queue.shift()!
        const start = this.queueStart
        this.queueStart = 0
        if (!this.sendFrom(chunk, start)) {
          const kept = this.queue as Array<Uint8Array> | undefined
          if (kept !== undefined) {
            // out of credit again: the rest of the old queue goes behind what sendFrom kept
            for (const c of queue) kept.push(c)
          } else if (queue.length > 0) {
            // the carrier is full but everything fit the credit: keep the rest queued
            this.queue = queue
            this.queueStart = 0
          }
          return
        }
      }
    }
    if (this.endQueued && !this.finSent) this.sendFin()
    this.drained()
  }

  /** more credit from the peer for this stream */
  grant(delta: number): boolean {
    if (this.credit + delta > Frame.MAX_WINDOW) return false
    this.credit += delta
    if (this.queue !== undefined) this.flush()
    return true
  }

  end(): void {
    if (this.closed || this.endQueued) return
    this.endQueued = true
    if (this.queue === undefined) this.sendFin()
  }

  private sendFin(): void {
    this.finSent = true
    this.host.send(Frame.Type.WindowUpdate, this.takeOpenFlag() | Frame.Flag.FIN, this.id, 0)
    if (this.finReceived) this.finish(true)
  }

  close(): void {
    this.end()
  }

  destroy(): void {
    if (this.closed) return
    this.host.send(Frame.Type.WindowUpdate, this.takeOpenFlag() | Frame.Flag.RST, this.id, 0)
    this.finish(false)
  }

  /** The session is gone: close without a word on the wire. */
  lost(): void {
    if (!this.closed) this.finish(false)
  }

  private finish(clean: boolean): void {
    this.queue = undefined
    if (this.held > 0) {
      this.host.consumed(this.held)
      this.held = 0
    }
    this.host.forget(this)
    this.receivedClose(clean)
  }

  // ---------------------------------------------------------------------------------------------------
  // receiving (called by the session's parser)

  /** A Data frame of `length` bytes is coming; false when it exceeds the credit granted (the session fails). */
  admit(length: number): boolean {
    if (length > this.recvCredit) return false
    this.recvCredit -= length
    return true
  }

  /** Payload for this stream (admitted with its header). */
  deliver(chunk: Buffer, start: number, end: number): void {
    const n = end - start
    if (this.closed || this.finReceived) {
      this.host.consumed(n) // nobody will read it: the session credit goes back at once
      return
    }
    if (this.flowing && !this.readPaused) {
      this.taken += n
      this.host.consumed(n)
    } else {
      this.held += n
    }
    this.received(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end))
    this.maybeUpdate()
  }

  /** the peer ended its side */
  receivedFin(): void {
    if (this.finReceived || this.closed) return
    this.finReceived = true
    this.receivedEnd()
    if (this.finSent) this.finish(true)
  }

  /** the peer reset the stream */
  receivedRst(): void {
    if (!this.closed) this.finish(false)
  }

  forward(to: Sink): void {
    this.flowing = true
    this.release()
    super.forward(to)
  }

  unforward(unread?: Buffer): void {
    this.flowing = false
    super.unforward(unread)
  }

  protected pauseReading(): void {
    this.readPaused = true
  }

  protected resumeReading(): void {
    this.readPaused = false
    if (this.flowing) this.release()
  }

  /** bytes held while nobody took them are taken now */
  private release(): void {
    if (this.held > 0) {
      this.taken += this.held
      this.host.consumed(this.held)
      this.held = 0
    }
    this.maybeUpdate()
  }

  /**
   * Grants more credit once the local side took half the window. When that happens again within two
   * round trips, the window was what held the sender back: it doubles, up to `maxWindow`.
   */
  private maybeUpdate(): void {
    if (this.readPaused || !this.flowing || this.closed || this.finReceived) return
    if (this.taken < this.window / 2) return
    const now = performance.now()
    if (this.window < this.maxWindow && now - this.lastUpdate < 2 * Math.max(this.host.rttMillis, 1)) {
      this.window = Math.min(this.window * 2, this.maxWindow)
    }
    this.lastUpdate = now
    const delta = this.window - this.recvCredit
    this.taken = 0
    if (delta <= 0) return
    this.recvCredit += delta
    this.host.send(Frame.Type.WindowUpdate, this.takeOpenFlag(), this.id, delta)
    this.host.probe()
  }

  /** the window this side grants now: 256 KiB at first, doubled while the reader keeps up */
  get receiveWindow(): number {
    return this.window
  }

  /** bytes this stream received but the local side has not taken (for tests and stats) */
  get heldBytes(): number {
    return this.held
  }
}
