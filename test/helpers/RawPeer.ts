/**
 * A raw peer of the tunnel port for refusal tests: connects, sends some bytes (or nothing), and collects
 * what the server sends back until it closes, with the peer's own port to find it in the logs.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** What a raw peer saw: the bytes the server sent before closing, and the peer's own port. */
interface Seen {
  readonly localPort: number
  readonly received: Buffer
}

/** Connects, sends `bytes` (nothing when empty), and collects what comes back until the server closes. */
export const rawPeer = (port: number, bytes: string | Buffer, host = "127.0.0.1", timeoutMs = 8_000) =>
  Effect.async<Seen, Error>((resume) => {
    const socket = net.connect({ host, port })
    const chunks: Array<Buffer> = []
    let localPort = 0
    const timer = setTimeout(() => socket.destroy(new Error(`server kept the connection over ${timeoutMs} ms`)), timeoutMs)
    let failure: Error | undefined
    socket.on("connect", () => {
      localPort = socket.localPort!
      if (bytes.length > 0) socket.write(bytes)
    })
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // the server resets a connection it gave up on: that is an answer too
      if (e.code !== "ECONNRESET") failure = e
    })
    socket.on("close", () => {
      clearTimeout(timer)
      resume(failure ? Effect.fail(failure) : Effect.succeed({ localPort, received: Buffer.concat(chunks) }))
    })
    return Effect.sync(() => socket.destroy())
  })
