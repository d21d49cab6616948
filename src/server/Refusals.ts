/**
 * What the server does with a tunnel connection it refuses: answer (where the protocol says so), close,
 * count the failure against the peer's address for the auth limiter, and log it — one rate-limited line
 * per reason, so a flood of scanners never hides a client with the wrong token, and a lockout says who
 * and for how long.
 *
 * The peer's address is asked of the socket here, on the refusal path only (a system call), and before
 * the socket closes: once closed, the runtime no longer knows it (Bun forgets it at `end()`, Node at
 * `destroy()`), which logged refusals as from `?:0` and counted them all against one key.
 *
 * Per-connection path: plain callbacks.
 */
import * as LogLevel from "effect/LogLevel"
import { formatHostPort, type TransportName } from "../config/Config.ts"
import type { Peer } from "../net/Conn.ts"
import * as Handshake from "../protocol/Handshake.ts"
import * as P from "../protocol/Protocol.ts"
import type { Stats } from "../tunnel/Stats.ts"
import type { Channel } from "../transport/Transport.ts"
import * as Log from "../util/Log.ts"
import type { AuthLimiter } from "./AuthLimiter.ts"

/** What a refusal needs. */
export interface RefusalsOptions {
  readonly limiter: AuthLimiter
  readonly log: Log.Log
  readonly stats: Stats
  readonly transport: TransportName
  /** between two lines of one reason */
  readonly intervalMillis?: number
}

/** Each reason as the log names it. */
const labels: Record<string, string | undefined> = {
  AuthFailed: "auth failed",
  NotBackhaul: "not backhaul",
  Timeout: "timeout",
  RateLimited: "rate limited",
  Version: "version",
  TransportMismatch: "transport mismatch",
  TooManyClients: "too many clients",
  Truncated: "truncated handshake",
  Malformed: "malformed",
  Oversized: "oversized",
  Closed: "closed"
}

/** Failures that say the peer is not a client of ours: they count towards a lockout. */
const counted = new Set<string>(["AuthFailed", "NotBackhaul", "Timeout"])

/** The backends name a peer they no longer know `?` (the socket had closed before anyone asked). */
const known = (peer: Peer): boolean => peer.host !== "?"

const seconds = (millis: number): number => Math.max(1, Math.ceil(millis / 1000))

/** `host:port` of a peer (`[v6]:port`), or what is known of it. */
const describe = (peer: Peer): string => (known(peer) ? formatHostPort(peer) : "an unknown address (it closed first)")

/** Builds the refusals of one server. */
export const make = (options: RefusalsOptions) => {
  const { limiter, log, stats } = options
  const line = Log.rateLimitedByKey(log, options.intervalMillis)
  const lockedOutFor = (host: string) =>
    `locked out for ${seconds(limiter.lockedFor(host))} s after ${limiter.maxFailures} failed handshakes`

  return {
    /** Refuses a connection from an address that is locked out: tells it so, closes, logs. */
    lockedOut(channel: Channel): void {
      stats.rejected++
      const peer = channel.peer
      Handshake.write(channel, P.encodeServerHello(P.Status.RateLimited, options.transport, Buffer.alloc(32)))
      channel.close()
      line("RateLimited", LogLevel.Warning, () => `refused tunnel connection from ${describe(peer)}: rate limited: ${lockedOutFor(peer.host)}`)
    },

    /**
     * The handshake's deadline passed: the error to report, with the peer's address read now, while the
     * socket is still open (the deadline destroys it next; the address is kept by the connection).
     */
    timeout(channel: Channel, detail: string): P.ProtocolError {
      void channel.peer
      return new P.ProtocolError({ reason: "Timeout", detail })
    },

    /** The handshake failed: the refusal (if any) is on its way; closes, counts and logs. */
    refused(channel: Channel, error: P.ProtocolError): void {
      stats.rejected++
      const peer = channel.peer
      // the refusal (version, transport, token, session) is on its way; let it reach the peer
      channel.close()
      if (error.reason === "UnknownSession") {
        return log(LogLevel.Debug, () => `refused data channel from ${describe(peer)}: ${error.detail}`)
      }
      const label = labels[error.reason] ?? error.reason
      // a peer that connected and left without a byte (a port probe, a health check) is no warning
      const level = error.reason === "Closed" ? LogLevel.Info : LogLevel.Warning
      line(error.reason, level, () => `refused tunnel connection from ${describe(peer)}: ${label}: ${error.detail}`)
      if (!counted.has(error.reason) || !known(peer)) return
      if (limiter.fail(peer.host)) {
        line("lockout", LogLevel.Warning, () => `${peer.host} is ${lockedOutFor(peer.host)} (the last from ${describe(peer)}: ${label})`)
      }
    }
  }
}

/** The refusals of one server. */
export type Refusals = ReturnType<typeof make>
