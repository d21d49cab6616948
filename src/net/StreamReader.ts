/**
 * Exact-length reads from a Node stream in paused mode. Used only before a channel is handed to the byte
 * pump (handshakes, control frames, the data channel's Connect header): bytes past what was asked for stay
 * in the stream's buffer, so the pump later delivers them untouched.
 */
import type { Duplex } from "node:stream"
import { ProtocolError } from "../protocol/Protocol.ts"
import type { Cancel, Done } from "./Callback.ts"

const closed = (detail: string) => new ProtocolError({ reason: "Closed", detail })

/**
 * Reads exactly `n` bytes and calls back. Fails with `Closed` when the stream ends before any byte and
 * `Truncated` when it ends part way.
 */
export const read = (stream: Duplex, n: number, done: Done<Buffer, ProtocolError>): Cancel => {
  // Never calls back before returning: callers chain steps as `current = read(…, () => { current = read(…) })`,
  // so a result that is ready at once is delivered on the microtask queue instead.
  const now = attempt(stream, n)
  if (now !== undefined) {
    let cancelled = false
    queueMicrotask(() => {
      if (!cancelled) done(now.error, now.value)
    })
    return () => (cancelled = true)
  }
  const cleanup = () => {
    stream.off("readable", onReadable)
    stream.off("end", onEnd)
    stream.off("close", onEnd)
    stream.off("error", onError)
  }
  const onReadable = () => {
    const result = attempt(stream, n)
    if (result === undefined) return
    cleanup()
    done(result.error, result.value)
  }
  const onEnd = () => {
    cleanup()
    done(closed("peer closed the connection"))
  }
  const onError = (e: Error) => {
    cleanup()
    done(closed(`connection error: ${e.message}`))
  }
  stream.on("readable", onReadable)
  stream.on("end", onEnd)
  stream.on("close", onEnd)
  stream.on("error", onError)
  return cleanup
}

/** Completes the read from what is buffered now, or undefined if it has to wait. */
const attempt = (
  stream: Duplex,
  n: number
): { readonly error?: ProtocolError; readonly value?: Buffer } | undefined => {
  if (stream.destroyed) return { error: closed("connection closed") }
  const chunk: Buffer | null = stream.read(n)
  if (chunk === null) return stream.readableEnded ? { error: closed("peer closed the connection") } : undefined
  if (chunk.length < n) {
    return { error: new ProtocolError({ reason: "Truncated", detail: `peer closed after ${chunk.length} of ${n} bytes` }) }
  }
  return { value: chunk }
}
