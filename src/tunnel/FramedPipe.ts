/**
 * The byte pump between a local connection (a user's, or a target's) and a data channel that outlives it.
 * On the channel, bytes travel in `Data` frames and each direction finishes with an `End` frame, so both
 * sides know where this connection stops on a channel that stays open; when both `End`s have crossed, the
 * channel is free for the next connection (reusing it saves a TCP set-up, a handshake and a tear-down per
 * connection). Backpressure and half-close are kept. Anything abnormal — a reset of the
 * local connection, a channel that closes, a malformed frame — closes both, and the channel is not reused.
 *
 * No Effect per chunk: plain callbacks (see `net/Callback.ts`). The state lives in one object per
 * connection and the per-chunk code in shared methods, not in closures made per connection: the calls
 * from `Conn` into a sink then go to one of a few functions, which the JIT inlines; with a closure per
 * connection they go to a different function every time (keep-alive traffic paid ~10 % more user time
 * per request for it).
 */
import type { Cancel } from "../net/Callback.ts"
import type { Conn, Resumable, Sink } from "../net/Conn.ts"
import * as P from "../protocol/Protocol.ts"

/** How one connection on a channel ended. */
export interface Outcome {
  /** both directions ended cleanly: the channel can carry another connection */
  readonly reusable: boolean
  /** payload bytes from the local side onto the channel, and from the channel to the local side */
  readonly sent: number
  readonly received: number
}

/** Chunks below this size go out with their frame header in one write; bigger ones go as two. */
const COPY_BELOW = 16 * 1024

/** The header of every small frame (JavaScript runs on one thread, and `writePair` copies it at once). */
const smallHeader = Buffer.allocUnsafe(P.FRAME_HEADER_BYTES)

/**
 * Pumps `local` ⇄ `channel` until the connection is over, then calls back once. Cancelling closes both.
 * The channel must have no other reader meanwhile; when reusable, it is handed back with any bytes past
 * the final `End` still unread.
 */
export const run = (local: Conn, channel: Conn, done: (outcome: Outcome) => void): Cancel => {
  const pipe = new Pipe(local, channel, done)
  channel.onClose(pipe.onChannelClose)
  local.onClose(pipe.onLocalClose)
  if (!pipe.finished) {
    local.forward(pipe)
    channel.forward(pipe.inbound)
  }
  return pipe.abort
}

/** One connection on a channel; as a sink it takes the local side's bytes (local → channel). */
class Pipe implements Sink {
  sent = 0
  received = 0
  sentEnd = false
  receivedEnd = false
  finished = false
  readonly inbound: Inbound
  // the three callbacks handed out: made once per connection, they must keep their identity
  readonly abort = (): void => this.finish(false)
  readonly onChannelClose = (): void => this.finish(false)
  readonly onLocalClose = (): void => {
    // a reset (not a clean end) of the local side aborts the connection on the channel too
    if (!this.local.readEnded) this.finish(false)
  }

  constructor(
    readonly local: Conn,
    readonly channel: Conn,
    private readonly done: (outcome: Outcome) => void
  ) {
    this.inbound = new Inbound(this)
  }

  /** local → channel: every chunk as a Data frame */
  write(chunk: Uint8Array): boolean {
    if (this.finished) return true
    this.sent += chunk.length
    // `writePair` is done with its head on return, so small frames share one header buffer
    if (chunk.length < COPY_BELOW) return this.channel.writePair(P.writeDataHeader(smallHeader, chunk.length), chunk)
    const headerTaken = this.channel.write(P.dataHeader(chunk.length))
    return this.channel.write(chunk) && headerTaken
  }

  /** the local side's input ended: End */
  end(): void {
    if (this.finished || this.sentEnd) return
    this.sentEnd = true
    this.channel.write(P.endFrame)
    this.settleIfDone()
  }

  whenDrained(source: Resumable | undefined): void {
    this.channel.whenDrained(source)
  }

  settleIfDone(): void {
    if (this.sentEnd && this.receivedEnd) this.finish(true)
  }

  finish(reusable: boolean): void {
    if (this.finished) return
    this.finished = true
    const { local, channel } = this
    local.offClose(this.onLocalClose)
    channel.offClose(this.onChannelClose)
    // the channel may carry another connection: this one's local side must not resume it later
    local.whenDrained(undefined)
    if (!reusable) {
      local.destroy()
      channel.destroy()
    }
    this.done({ reusable, sent: this.sent, received: this.received })
  }
}

/**
 * channel → local: a streaming frame parser; payloads go to `local` as they arrive, never held whole.
 * A header is read in place; only one split across reads is gathered (in a buffer made on first need).
 */
class Inbound implements Sink {
  private split: Buffer | undefined
  private headerHave = 0
  private payloadLeft = 0

  constructor(private readonly pipe: Pipe) {}

  write(bytes: Uint8Array): boolean {
    const pipe = this.pipe
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let ok = true
    let at = 0
    while (at < chunk.length && !pipe.finished) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - at)
        pipe.received += n
        this.payloadLeft -= n
        ok = pipe.local.writeSlice(chunk, at, at + n) && ok
        at += n
        continue
      }
      let type: number
      let length: number
      if (this.headerHave === 0 && chunk.length - at >= P.FRAME_HEADER_BYTES) {
        type = chunk[at]!
        length = chunk.readUInt32BE(at + 1)
        at += P.FRAME_HEADER_BYTES
      } else {
        const header = (this.split ??= Buffer.allocUnsafe(P.FRAME_HEADER_BYTES))
        const n = Math.min(P.FRAME_HEADER_BYTES - this.headerHave, chunk.length - at)
        chunk.copy(header, this.headerHave, at, at + n)
        this.headerHave += n
        at += n
        if (this.headerHave < P.FRAME_HEADER_BYTES) break
        this.headerHave = 0
        type = header[0]!
        length = header.readUInt32BE(1)
      }
      if (type === P.DATA_FRAME && length <= P.MAX_DATA_FRAME) {
        this.payloadLeft = length
      } else if (type === P.END_FRAME && length === 0) {
        pipe.receivedEnd = true
        // what follows the End belongs to the channel's next reader (the next Connect)
        pipe.channel.unforward(at < chunk.length ? chunk.subarray(at) : undefined)
        // both directions are over if the local side has ended too: a close then spares its socket a
        // separate shutdown and the wake-up that reports the close
        if (pipe.sentEnd) pipe.local.close()
        else pipe.local.end()
        pipe.settleIfDone()
        return true
      } else {
        pipe.abort()
        return true
      }
    }
    return ok
  }

  /** the channel's peer closed it before its End: the connection is cut short, like a reset */
  end(): void {
    this.pipe.abort()
  }

  whenDrained(source: Resumable | undefined): void {
    this.pipe.local.whenDrained(source)
  }
}
