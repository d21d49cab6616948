/**
 * The byte pump between a local connection (a user's, or a target's) and a data channel that outlives it.
 * On the channel, bytes travel in `Data` frames and each direction finishes with an `End` frame, so both
 * sides know where this connection stops on a channel that stays open; when both `End`s have crossed, the
 * channel is free for the next connection (reusing it saves a TCP set-up, a handshake and a tear-down per
 * connection). Backpressure and half-close are kept as in `Pipe.ts`. Anything abnormal — a reset of the
 * local connection, a channel that closes, a malformed frame — closes both, and the channel is not reused.
 *
 * No Effect per chunk: plain callbacks (see `net/Callback.ts`).
 */
import type { Cancel } from "../net/Callback.ts"
import type { Conn, Sink } from "../net/Conn.ts"
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
  let sent = 0
  let received = 0
  let sentEnd = false
  let receivedEnd = false
  let finished = false

  const finish = (reusable: boolean) => {
    if (finished) return
    finished = true
    local.offClose(onLocalClose)
    channel.offClose(onChannelClose)
    // the channel may carry another connection: this one's local side must not resume it later
    local.whenDrained(undefined)
    if (!reusable) {
      local.destroy()
      channel.destroy()
    }
    done({ reusable, sent, received })
  }
  const abort = () => finish(false)
  const settleIfDone = () => {
    if (sentEnd && receivedEnd) finish(true)
  }

  // local → channel: every chunk as a Data frame, the end of input as End
  const outbound: Sink = {
    write: (chunk) => {
      if (finished) return true
      sent += chunk.length
      // `writePair` is done with its head on return, so small frames share one header buffer
      if (chunk.length < COPY_BELOW) return channel.writePair(P.writeDataHeader(smallHeader, chunk.length), chunk)
      const headerTaken = channel.write(P.dataHeader(chunk.length))
      return channel.write(chunk) && headerTaken
    },
    end: () => {
      if (finished || sentEnd) return
      sentEnd = true
      channel.write(P.endFrame)
      settleIfDone()
    },
    whenDrained: (source) => channel.whenDrained(source)
  }

  // channel → local: a streaming frame parser; payloads go to `local` as they arrive, never held whole.
  // A header is read in place; only one split across reads is gathered (in a buffer made on first need).
  let split: Buffer | undefined
  let headerHave = 0
  let payloadLeft = 0
  const inbound: Sink = {
    write: (bytes) => {
      const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      let ok = true
      let at = 0
      while (at < chunk.length && !finished) {
        if (payloadLeft > 0) {
          const n = Math.min(payloadLeft, chunk.length - at)
          received += n
          payloadLeft -= n
          ok = local.writeSlice(chunk, at, at + n) && ok
          at += n
          continue
        }
        let type: number
        let length: number
        if (headerHave === 0 && chunk.length - at >= P.FRAME_HEADER_BYTES) {
          type = chunk[at]!
          length = chunk.readUInt32BE(at + 1)
          at += P.FRAME_HEADER_BYTES
        } else {
          const header = (split ??= Buffer.allocUnsafe(P.FRAME_HEADER_BYTES))
          const n = Math.min(P.FRAME_HEADER_BYTES - headerHave, chunk.length - at)
          chunk.copy(header, headerHave, at, at + n)
          headerHave += n
          at += n
          if (headerHave < P.FRAME_HEADER_BYTES) break
          headerHave = 0
          type = header[0]!
          length = header.readUInt32BE(1)
        }
        if (type === P.DATA_FRAME && length <= P.MAX_DATA_FRAME) {
          payloadLeft = length
        } else if (type === P.END_FRAME && length === 0) {
          receivedEnd = true
          // what follows the End belongs to the channel's next reader (the next Connect)
          channel.unforward(at < chunk.length ? chunk.subarray(at) : undefined)
          local.end()
          settleIfDone()
          return true
        } else {
          abort()
          return true
        }
      }
      return ok
    },
    // the channel's peer closed it before its End: the connection is cut short, like a reset
    end: () => abort(),
    whenDrained: (source) => local.whenDrained(source)
  }

  const onChannelClose = () => abort()
  const onLocalClose = () => {
    // a reset (not a clean end) of the local side aborts the connection on the channel too
    if (!local.readEnded) abort()
  }
  channel.onClose(onChannelClose)
  local.onClose(onLocalClose)
  if (!finished) {
    local.forward(outbound)
    channel.forward(inbound)
  }
  return abort
}
