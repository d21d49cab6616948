/**
 * Exact-length reads from a Node stream in paused mode, as Effects. Used only before a channel is handed
 * to the byte pump (handshakes, control frames, the data channel's Connect header): bytes past what was
 * asked for stay in the stream's buffer, so the pump later delivers them untouched.
 */
import * as Effect from "effect/Effect"
import type { Duplex } from "node:stream"
import { ProtocolError } from "../protocol/Protocol.ts"

/**
 * Reads exactly `n` bytes. Fails with `Closed` when the stream ends before any byte and `Truncated` when
 * it ends part way.
 */
export const readExactly = (stream: Duplex, n: number): Effect.Effect<Buffer, ProtocolError> =>
  Effect.suspend(() => {
    const ready = tryRead(stream, n)
    if (ready !== undefined) return ready
    return Effect.async<Buffer, ProtocolError>((resume) => {
      const cleanup = () => {
        stream.off("readable", onReadable)
        stream.off("end", onEnd)
        stream.off("close", onEnd)
        stream.off("error", onError)
      }
      const onReadable = () => {
        const r = tryRead(stream, n)
        if (r !== undefined) {
          cleanup()
          resume(r)
        }
      }
      const onEnd = () => {
        cleanup()
        resume(new ProtocolError({ reason: "Closed", detail: "peer closed the connection" }))
      }
      const onError = (e: Error) => {
        cleanup()
        resume(new ProtocolError({ reason: "Closed", detail: `connection error: ${e.message}` }))
      }
      stream.on("readable", onReadable)
      stream.on("end", onEnd)
      stream.on("close", onEnd)
      stream.on("error", onError)
      return Effect.sync(cleanup)
    })
  })

const tryRead = (stream: Duplex, n: number): Effect.Effect<Buffer, ProtocolError> | undefined => {
  if (stream.destroyed) return new ProtocolError({ reason: "Closed", detail: "connection already closed" })
  const chunk: Buffer | null = stream.read(n)
  if (chunk === null) {
    if (stream.readableEnded) return new ProtocolError({ reason: "Closed", detail: "peer closed the connection" })
    return undefined
  }
  if (chunk.length < n) {
    return new ProtocolError({ reason: "Truncated", detail: `peer closed after ${chunk.length} of ${n} bytes` })
  }
  return Effect.succeed(chunk)
}
