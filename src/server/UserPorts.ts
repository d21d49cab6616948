/**
 * The server's user-facing listeners: one per port of every mapping. Each accepted connection goes to
 * the channel strategy (`serve`), which carries it through the tunnel. A port that cannot be bound is
 * logged and retried without holding up the others; a failing connection only ever closes itself.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { formatHostPort, type PortMapping } from "../config/Config.ts"
import { expandMapping } from "../config/PortMapping.ts"
import type { Conn } from "../net/Conn.ts"
import * as Tcp from "../net/Tcp.ts"
import * as Attempt from "../util/Attempt.ts"

/** One bound user port. */
export interface UserPort {
  readonly bindHost: string
  readonly port: number
  readonly targetHost: string
  readonly targetPort: number
  /** `targetHost:targetPort` as the Connect names it, formatted once per port */
  readonly target: string
}

/** Binds every port of every mapping for the life of the scope; `serve` takes each connection. */
export const bindAll = (
  mappings: ReadonlyArray<PortMapping>,
  socketOptions: Tcp.SocketOptions,
  serve: (user: Conn, port: UserPort) => void
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ports: Array<UserPort> = mappings.flatMap(expandMapping).map((p) => ({
      ...p,
      target: formatHostPort({ host: p.targetHost, port: p.targetPort })
    }))
    let bound = 0
    for (const port of ports) {
      const where = formatHostPort({ host: port.bindHost, port: port.port })
      // each attempt in its own child scope, so a port retried for days does not pile up finalizers
      const listen = Attempt.attempt(
        Tcp.listen({ host: port.bindHost, port: port.port }, socketOptions, (user) => serve(user, port))
      )
      // bind now so the ports are up when start-up completes; a port that is taken is retried on its own
      yield* listen.pipe(
        Effect.tap(() => bound++),
        Effect.catchAll((e) =>
          Effect.logError(`cannot listen on ${where}: ${e.detail}; retrying every 10s`).pipe(
            Effect.zipRight(listen.pipe(
              Effect.retry(Schedule.spaced("10 seconds")),
              Effect.tap(() => Effect.logInfo(`listening on ${where} at last`)),
              Effect.forkScoped
            ))
          )
        )
      )
    }
    yield* Effect.logInfo(`user ports: ${bound} of ${ports.length} listening, for ${mappings.length} mapping(s)`)
  })
