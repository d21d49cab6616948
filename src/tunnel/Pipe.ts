/**
 * The byte pump between two connections that end together: a user's or target's socket and a mux
 * stream, which carries its own half-close (FIN) and reset (RST), so no framing is added here. Each
 * direction is a `forward` with backpressure; an end crosses as an end, and a reset of either side
 * (a close before its input ended) destroys the other, so the reset crosses too.
 *
 * Per-chunk path: no Effect; the state lives in one object per connection and the per-chunk code in
 * shared methods (see `FramedPipe.ts` for why not closures).
 */
import type { Cancel } from "../net/Callback.ts"
import type { Conn, Resumable, Sink } from "../net/Conn.ts"

/** How a piped connection ended. */
export interface Outcome {
  /** both directions ended cleanly */
  readonly clean: boolean
  /** bytes from `a` to `b`, and from `b` to `a` */
  readonly sent: number
  readonly received: number
}

/** Pipes `a` ⇄ `b` until both directions have ended or either side resets; calls back once. */
export const run = (a: Conn, b: Conn, done: (outcome: Outcome) => void): Cancel => {
  const pipe = new Pipe(a, b, done)
  a.onClose(pipe.onClose)
  b.onClose(pipe.onClose)
  if (!pipe.finished) {
    a.forward(pipe.toB)
    b.forward(pipe.toA)
  }
  return pipe.abort
}

class Pipe {
  finished = false
  readonly toB: Half
  readonly toA: Half
  readonly abort = (): void => this.finish(false)
  readonly onClose = (conn: Conn): void => {
    // a close before the input ended is a reset
    if (!conn.readEnded) this.finish(false)
  }

  constructor(readonly a: Conn, readonly b: Conn, private readonly done: (outcome: Outcome) => void) {
    this.toB = new Half(this, b)
    this.toA = new Half(this, a)
  }

  /** `half`'s source ended: end its destination, or close it when the other direction is over too */
  ended(half: Half): void {
    if (this.finished) return
    half.over = true
    const other = half === this.toB ? this.toA : this.toB
    if (other.over) {
      half.to.close()
      this.finish(true)
    } else {
      half.to.end()
    }
  }

  finish(clean: boolean): void {
    if (this.finished) return
    this.finished = true
    const { a, b } = this
    a.offClose(this.onClose)
    b.offClose(this.onClose)
    if (!clean) {
      a.destroy()
      b.destroy()
    }
    this.done({ clean, sent: this.toB.bytes, received: this.toA.bytes })
  }
}

/** One direction: what its source reads goes to `to`. */
class Half implements Sink {
  bytes = 0
  over = false

  constructor(private readonly pipe: Pipe, readonly to: Conn) {}

  write(chunk: Uint8Array): boolean {
    if (this.pipe.finished) return true
    this.bytes += chunk.length
    return this.to.write(chunk)
  }

  end(): void {
    this.pipe.ended(this)
  }

  whenDrained(source: Resumable | undefined): void {
    this.to.whenDrained(source)
  }
}
