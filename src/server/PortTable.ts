/**
 * The user ports as a table a reload can change: each port's listener lives in a scope of its own, so a
 * port can be added or removed without touching the others, and a port whose target changed keeps its
 * listener (new connections go to the new target). Accepted connections belong to one owner for the whole
 * server, not to their listener: a removed port stops accepting, and its live connections finish.
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { formatHostPort, type PortMapping } from "../config/Config.ts"
import type { Conn } from "../net/Conn.ts"
import type { Owned } from "../net/Owned.ts"
import type { SocketOptions } from "../net/Conn.ts"
import type { NetworkShape } from "../net/Network.ts"
import type { TransportError } from "../transport/Transport.ts"
import * as UserPorts from "./UserPorts.ts"

interface Entry {
  /** the port as now configured (its target may change) */
  port: UserPorts.UserPort
  readonly scope: Scope.CloseableScope
}

/** What an update changed, for the reload's log line. */
export interface PortChanges {
  readonly added: number
  readonly removed: number
  readonly retargeted: number
  /** of those added, how many are listening now (the rest are retried) */
  readonly bound: number
}

const keyOf = (p: { readonly bindHost: string; readonly port: number }) => formatHostPort({ host: p.bindHost, port: p.port })

export class PortTable {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly network: NetworkShape,
    private readonly parent: Scope.Scope,
    private readonly socketOptions: SocketOptions,
    private readonly owner: Owned,
    private readonly serve: (user: Conn, port: UserPorts.UserPort) => void
  ) {}

  /** ports listening or being retried */
  get size(): number {
    return this.entries.size
  }

  /** Makes the table hold exactly the ports of `mappings`: binds the new, unbinds the gone, retargets. */
  update(mappings: ReadonlyArray<PortMapping>): Effect.Effect<PortChanges, TransportError> {
    return Effect.gen(this, function*() {
      const wanted = new Map(UserPorts.expand(mappings).map((p) => [keyOf(p), p]))
      let removed = 0
      let retargeted = 0
      for (const [key, entry] of this.entries) {
        const next = wanted.get(key)
        if (next === undefined) {
          this.entries.delete(key)
          removed++
          yield* Scope.close(entry.scope, Exit.void)
        } else if (next.target !== entry.port.target) {
          entry.port = next
          retargeted++
        }
      }
      const added: Array<UserPorts.UserPort> = []
      for (const [key, port] of wanted) if (!this.entries.has(key)) added.push(port)
      for (const port of added) {
        this.entries.set(keyOf(port), { port, scope: yield* Scope.fork(this.parent, ExecutionStrategy.sequential) })
      }
      const placement: UserPorts.Placement = {
        scopeOf: (port) => this.entries.get(keyOf(port))!.scope,
        wanted: (port) => this.entries.has(keyOf(port)),
        owner: this.owner
      }
      // the listener hands over the port as it is configured now, not as it was when bound
      const serve = (user: Conn, port: UserPorts.UserPort) => this.serve(user, this.entries.get(keyOf(port))?.port ?? port)
      let bound = 0
      if (added.length > 0) {
        bound = yield* UserPorts.bindPorts(this.network, added, this.socketOptions, serve, placement).pipe(
          Effect.provideService(Scope.Scope, this.parent),
          Effect.tapError(() => Effect.sync(() => added.forEach((p) => this.entries.delete(keyOf(p)))))
        )
      }
      return { added: added.length, removed, retargeted, bound }
    })
  }

  /** Unbinds every port (a drain); live connections are left to their owner. */
  closeAll(): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const all = [...this.entries.values()]
      this.entries.clear()
      for (const entry of all) yield* Scope.close(entry.scope, Exit.void)
    })
  }
}
