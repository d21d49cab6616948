/**
 * A connected pair of in-memory `Conn`s: what one writes, the other reads, with half-close, reset and
 * backpressure. Two timings: `deferred` pairs deliver as a socket does, in a later microtask and never
 * inside the writer's `write` (the in-memory network's, so a tunnel on it runs as on sockets); immediate
 * pairs deliver inside `write`, so a unit test of a codec or pump can assert right after writing.
 */
import { type Conn, ConnBase, type Peer } from "./Conn.ts"

/** Bytes in flight towards one side before its writer is asked to wait (`write` returns false). */
const HIGH_WATER = 256 * 1024

/** Chunks this small may be reused by the writer once `write` returns (see `Conn.write`): copied. */
const COPY_BELOW = 1024

const NONE: Array<Buffer> = []

class MemoryConn extends ConnBase {
  other: MemoryConn | undefined
  /** our write side is ended */
  private ended = false
  /** bytes the other side wrote that we have not read yet, and whether its end follows them */
  private inbox: Array<Buffer> = NONE
  private inboxBytes = 0
  private inboxEnded = false
  private readingPaused = false
  private scheduled = false
  /** the other side was told to wait (its `write` returned false) */
  private writerWaiting = false

  constructor(private readonly address: Peer, private readonly deferred: boolean) {
    super()
  }

  protected describePeer(): Peer {
    return this.address
  }

  setKeepAlive(): void {}

  write(chunk: Uint8Array): boolean {
    const other = this.other
    if (this.ended || this.closed || other === undefined) return true
    if (other.closed) {
      // writing to a peer that has gone: a socket would see a reset
      this.resetSoon(this)
      return true
    }
    const bytes = chunk.length < COPY_BELOW
      ? Buffer.from(chunk)
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    return other.enqueue(bytes)
  }

  private enqueue(chunk: Buffer): boolean {
    if (this.inbox === NONE) this.inbox = [chunk]
    else this.inbox.push(chunk)
    this.inboxBytes += chunk.length
    this.schedule()
    if (this.inboxBytes < HIGH_WATER) return true
    this.writerWaiting = true
    return false
  }

  private schedule(): void {
    if (this.scheduled || this.readingPaused || this.closed) return
    this.scheduled = true
    if (this.deferred) queueMicrotask(this.flush)
    else this.flush()
  }

  private readonly flush = (): void => {
    this.scheduled = false
    while (!this.readingPaused && !this.closed && this.inbox.length > 0) {
      const chunk = this.inbox.shift()!
      this.inboxBytes -= chunk.length
      this.received(chunk)
    }
    if (this.closed) return
    if (this.inbox.length === 0) this.inbox = NONE
    if (this.writerWaiting && this.inboxBytes < HIGH_WATER) {
      this.writerWaiting = false
      this.other?.drained()
    }
    if (this.inbox.length === 0 && this.inboxEnded && !this.readingPaused) {
      this.inboxEnded = false
      this.receivedEnd()
      this.closeIfDone()
    }
  }

  end(): void {
    if (this.ended || this.closed) return
    this.ended = true
    const other = this.other
    if (other !== undefined && !other.closed) {
      other.inboxEnded = true
      other.schedule()
    }
    this.closeIfDone()
  }

  close(): void {
    // closing with bytes unread is a reset on TCP: the writer must not wait for a drain that never comes
    const unread = this.inboxBytes > 0 || this.writerWaiting
    this.end()
    this.receivedClose(true)
    if (unread && this.other !== undefined) this.resetSoon(this.other)
  }

  destroy(): void {
    this.receivedClose(false)
    // a reset drops what was in flight either way
    if (this.other !== undefined) this.resetSoon(this.other)
  }

  /** resets `target` (this side or its peer) with this pair's timing */
  private resetSoon(target: MemoryConn): void {
    if (target.closed) return
    if (this.deferred) queueMicrotask(() => target.receivedClose(false))
    else target.receivedClose(false)
  }

  private closeIfDone(): void {
    if (this.ended && this.readEnded) this.receivedClose(true)
  }

  protected pauseReading(): void {
    this.readingPaused = true
  }

  protected resumeReading(): void {
    this.readingPaused = false
    if (this.inbox.length > 0 || this.inboxEnded) this.schedule()
  }
}

const asPeer = (p: Peer | string): Peer => (typeof p === "string" ? { host: p, port: 0 } : p)

/**
 * Two connected in-memory connections; `aPeer` is what the first sees as its peer, `bPeer` the second
 * (both `remote` when one name is given). `deferred`: deliver as a socket does (see the header).
 */
export const pair = (aPeer: Peer | string = "memory", bPeer: Peer | string = aPeer, deferred = false): [Conn, Conn] => {
  const a = new MemoryConn(asPeer(aPeer), deferred)
  const b = new MemoryConn(asPeer(bPeer), deferred)
  a.other = b
  b.other = a
  return [a, b]
}
