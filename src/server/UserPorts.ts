/**
 * The server's user-facing listeners: one per port of every mapping. Each accepted connection goes to
 * the channel strategy (`serve`), which carries it through the tunnel. A port that cannot be bound is
 * logged and retried without holding up the others; a failing connection only ever closes itself.
 *
 * Failures are logged per run of consecutive ports failing for the same reason (one line for a range,
 * not one per port), and a set of ports that cannot fit in the file descriptor limit is refused at start
 * with one line saying what to raise.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Scope from "effect/Scope"
import type { Owned } from "../net/Owned.ts"
import { formatHostPort, type PortMapping } from "../config/Config.ts"
import { expandMapping } from "../config/PortMapping.ts"
import type { Conn } from "../net/Conn.ts"
import type { SocketOptions } from "../net/Conn.ts"
import type { NetworkShape } from "../net/Network.ts"
import { TransportError } from "../transport/Transport.ts"
import * as Attempt from "../util/Attempt.ts"
import * as FdLimit from "../util/FdLimit.ts"

/** One bound user port. */
export interface UserPort {
  readonly bindHost: string
  readonly port: number
  readonly targetHost: string
  readonly targetPort: number
  /** `targetHost:targetPort` as the Connect names it, formatted once per port */
  readonly target: string
}

/** How long a port that could not be bound waits before the next try. */
const RETRY_SECONDS = 10

/** Failures that hold for every port of the bind host: the other ports of that host are not tried. */
const hostWide = new Set(["ENOTFOUND", "EAI_NONAME", "EAI_FAIL", "EAI_AGAIN", "EADDRNOTAVAIL"])

interface Failed {
  readonly port: UserPort
  readonly detail: string
}

/** Consecutive ports of one host failing for the same reason, as one `host:from-to (N ports)`. */
export const runs = (failed: ReadonlyArray<Failed>): Array<{ readonly where: string; readonly detail: string }> => {
  const out: Array<{ where: string; detail: string }> = []
  let i = 0
  while (i < failed.length) {
    const first = failed[i]!
    let j = i
    while (
      j + 1 < failed.length &&
      failed[j + 1]!.port.bindHost === first.port.bindHost &&
      failed[j + 1]!.port.port === failed[j]!.port.port + 1 &&
      failed[j + 1]!.detail === first.detail
    ) j++
    const start = formatHostPort({ host: first.port.bindHost, port: first.port.port })
    const where = j === i ? start : `${start}-${failed[j]!.port.port} (${j - i + 1} ports)`
    out.push({ where, detail: first.detail })
    i = j + 1
  }
  return out
}

/** Every port of every mapping, with its target formatted once. */
export const expand = (mappings: ReadonlyArray<PortMapping>): Array<UserPort> =>
  mappings.flatMap(expandMapping).map((p) => ({
    ...p,
    target: formatHostPort({ host: p.targetHost, port: p.targetPort })
  }))

/** How `bindAll` places each port, for a caller that adds and removes ports one by one (a reload). */
export interface Placement {
  /** the scope a port's listener lives in (closing it unbinds that port) */
  readonly scopeOf: (port: UserPort) => Scope.Scope
  /** whether a port is still wanted (a port removed meanwhile is not retried) */
  readonly wanted: (port: UserPort) => boolean
  /** owns accepted connections, so unbinding a port leaves its live connections alone */
  readonly owner: Owned
}

/**
 * Binds `ports` on `network` for the life of the scope (or of their placement); `serve` takes each
 * connection. Returns how many are bound now (the rest are being retried). Fails (before binding any)
 * only when the ports cannot fit in the process's file descriptor limit.
 */
export const bindPorts = (
  network: NetworkShape,
  ports: ReadonlyArray<UserPort>,
  socketOptions: SocketOptions,
  serve: (user: Conn, port: UserPort) => void,
  placement?: Placement
): Effect.Effect<number, TransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const short = FdLimit.check(ports.length) // the listeners bound already are among the fds open now
    if (short !== undefined) {
      return yield* new TransportError({ reason: "Listen", address: `${ports.length} user ports`, detail: short })
    }
    // each attempt in its own child scope, so a port retried for days does not pile up finalizers
    const listenOn = (port: UserPort) => {
      const listening = Attempt.attempt(
        network.listen({ host: port.bindHost, port: port.port }, socketOptions, (user) => serve(user, port), placement?.owner)
      )
      return placement === undefined ? listening : Scope.extend(listening, placement.scopeOf(port))
    }

    /** binds what it can of `wanted`; returns the rest with why */
    const bindSome = (wanted: ReadonlyArray<UserPort>) =>
      Effect.gen(function*() {
        const failed: Array<Failed> = []
        const bound: Array<Failed> = []
        const hostFailures = new Map<string, string>()
        for (const port of wanted) {
          const known = hostFailures.get(port.bindHost)
          if (known !== undefined) {
            failed.push({ port, detail: known })
            continue
          }
          const result = yield* Effect.either(listenOn(port))
          if (Either.isRight(result)) {
            bound.push({ port, detail: "" })
            continue
          }
          failed.push({ port, detail: result.left.detail })
          if (result.left.code !== undefined && hostWide.has(result.left.code)) hostFailures.set(port.bindHost, result.left.detail)
        }
        return { bound, failed }
      })

    // bind now so the ports are up when start-up completes; those that fail are retried on their own
    const first = yield* bindSome(ports)
    for (const run of runs(first.failed)) {
      yield* Effect.logError(`cannot listen on ${run.where}: ${run.detail}; retrying every ${RETRY_SECONDS}s`)
    }
    if (first.failed.length > 0) {
      yield* Effect.forkScoped(Effect.gen(function*() {
        let left = first.failed.map((f) => f.port)
        while (left.length > 0) {
          yield* Effect.sleep(`${RETRY_SECONDS} seconds`)
          if (placement !== undefined) left = left.filter(placement.wanted)
          const round = yield* bindSome(left)
          for (const run of runs(round.bound)) yield* Effect.logInfo(`listening on ${run.where} at last`)
          left = round.failed.map((f) => f.port)
        }
      }))
    }
    return first.bound.length
  })
