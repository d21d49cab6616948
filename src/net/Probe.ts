/**
 * A client-side probe of a TCP service: send a payload, half-close, collect the whole answer. What the
 * demo shows a newcomer, and what tests use to check a path end to end.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** Sends `payload` to host:port, half-closes, and returns everything received until the peer's end. */
export const roundTrip = (port: number, payload: Buffer, host = "127.0.0.1"): Effect.Effect<Buffer, Error> =>
  Effect.async<Buffer, Error>((resume) => {
    const chunks: Array<Buffer> = []
    const socket = net.connect({ host, port, allowHalfOpen: true }, () => socket.end(payload))
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("end", () => {
      socket.end()
      resume(Effect.succeed(Buffer.concat(chunks)))
    })
    socket.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => socket.destroy())
  })
