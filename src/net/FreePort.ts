/**
 * Finds a free loopback port by binding port 0 and releasing it: for the demo and tests, which need to
 * know a port before the process that will bind it starts.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** A TCP port that was free on `host` a moment ago. */
export const freePort = (host = "127.0.0.1"): Effect.Effect<number> =>
  Effect.async<number>((resume) => {
    const server = net.createServer()
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resume(Effect.succeed(port)))
    })
  })
