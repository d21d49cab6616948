/**
 * Finds a free loopback port: for the demo, the benchmarks and tests, which need to know a port before the
 * process that will bind it starts.
 *
 * Why not just bind port 0 and release it: the kernel hands that port out of its ephemeral range, the
 * same range every outgoing connection takes its local port from. Between the release and the real bind
 * any connect() on the machine (another test file's client, a benchmark's load generator) may take it,
 * and the later listen fails with EADDRINUSE — CI saw exactly that. So ports are drawn at random from
 * below the ephemeral range, where the kernel never places outgoing connections, tried by binding, and
 * not handed out twice by one process. Port 0 remains the fallback when no such range is known.
 */
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import * as net from "node:net"

/** The lowest port drawn: above the well-known and most registered service ports. */
const FLOOR = 10_000
/** Used when the kernel's range cannot be read: below Linux's (32768) and IANA's (49152) ephemeral ranges. */
const FALLBACK_CEILING = 32_768
const ATTEMPTS = 50

/**
 * One past the highest port below the kernel's ephemeral range. Read when a port is asked for, not at
 * import: the CLI imports this (for `demo`) on every start.
 */
const ceiling = (): number => {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number)
    return Number.isInteger(low) ? low : FALLBACK_CEILING
  } catch {
    return FALLBACK_CEILING
  }
}

/** Ports this process already handed out: a caller may not have bound its last one yet. */
const handedOut = new Set<number>()

/** Binds `port` on `host` (0: any) and releases it: the port bound, or undefined when it was taken. */
const tryBind = (port: number, host: string): Effect.Effect<number | undefined> =>
  Effect.async<number | undefined>((resume) => {
    const server = net.createServer()
    server.once("error", () => resume(Effect.succeed(undefined)))
    server.listen({ port, host, exclusive: true }, () => {
      const bound = (server.address() as net.AddressInfo).port
      server.close(() => resume(Effect.succeed(bound)))
    })
  })

/** A TCP port that was free on `host` a moment ago, outside the range outgoing connections draw from. */
export const freePort = (host = "127.0.0.1"): Effect.Effect<number> =>
  Effect.gen(function*() {
    const span = ceiling() - FLOOR
    if (span >= 1000) {
      for (let i = 0; i < ATTEMPTS; i++) {
        const port = FLOOR + Math.floor(Math.random() * span)
        if (handedOut.has(port)) continue
        const bound = yield* tryBind(port, host)
        if (bound !== undefined) {
          handedOut.add(bound)
          return bound
        }
      }
    }
    // no range below the ephemeral one (or it is full): let the kernel choose
    for (let i = 0; i < ATTEMPTS; i++) {
      const bound = yield* tryBind(0, host)
      if (bound !== undefined && !handedOut.has(bound)) {
        handedOut.add(bound)
        return bound
      }
    }
    return yield* Effect.dieMessage(`no free TCP port on ${host} after ${2 * ATTEMPTS} tries`)
  })
