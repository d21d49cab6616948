/**
 * A programmable TCP proxy on loopback for fault injection between a client and its server. Every
 * relayed connection is a `Link` of two `Lane`s (one per direction); a fault can be set on one link or on
 * all of them at once (and then also on every link that arrives later):
 * - cut: both sockets destroyed with a reset, as a dead link or a middlebox reset would;
 * - black hole: bytes dropped both ways, sockets left open and closes not passed on — a path that went
 *   silent, which only a keepalive or a heartbeat notices (half-open on both sides);
 * - delay: every byte held for a fixed time each way, order kept;
 * - throttle: each direction limited to so many bytes per second;
 * - new connections refused (accepted, then reset) or black-holed (accepted and held without an
 *   upstream), so that a reconnect cannot get through until healed.
 * It counts connections and bytes relayed. Plain callbacks on `node:net`: this is the per-chunk path of a
 * test's own network, not something with a lifetime of its own beyond the proxy's scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

/** Bytes a lane may hold (delayed or throttled) before it stops reading its source. */
const HIGH_WATER = 1 << 20

/** Faults of one link; `bytesPerSecond` 0 is unlimited. */
export interface Faults {
  readonly blackHole: boolean
  readonly delayMs: number
  readonly bytesPerSecond: number
}

/** What happens to a connection that arrives: relayed with the proxy's faults, reset at once, or held. */
export type NewConnections = "relay" | "refuse" | "blackHole"

const healthy: Faults = { blackHole: false, delayMs: 0, bytesPerSecond: 0 }

/** Totals over the proxy's life. */
export interface Counts {
  /** connections accepted, in every mode */
  accepted: number
  /** connections relayed to the upstream */
  relayed: number
  refused: number
  /** connections held without an upstream (new connections black-holed) */
  held: number
  /** bytes delivered client → server and server → client, and bytes dropped by black holes */
  up: number
  down: number
  dropped: number
}

/** One direction of a link: reads `src`, writes `dst`, holding bytes while delayed or throttled. */
class Lane {
  private readonly queue: Array<{ chunk: Buffer; due: number }> = []
  private queued = 0
  private blocked = false
  private timer: ReturnType<typeof setTimeout> | undefined
  /** when the throttle lets the next byte out */
  private nextFree = 0
  private ended = false
  private aborted = false
  private endSent = false

  constructor(
    private readonly link: Link,
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly delivered: (n: number) => void
  ) {
    src.on("data", (c: Buffer) => this.onData(c))
    src.on("end", () => {
      this.ended = true
      this.pump()
    })
    // a close without a FIN first (an error, a reset, a destroy) is passed on as a reset
    src.on("close", () => {
      if (!this.ended) this.aborted = true
      this.pump()
    })
    dst.on("drain", () => {
      this.blocked = false
      this.pump()
    })
  }

  private onData(chunk: Buffer): void {
    const faults = this.link.faults
    if (faults.blackHole) {
      this.link.dropped += chunk.length
      this.link.counts.dropped += chunk.length
      return
    }
    if (this.queue.length === 0 && !this.blocked && faults.delayMs === 0 && faults.bytesPerSecond === 0) {
      this.write(chunk)
    } else {
      this.queue.push({ chunk, due: Date.now() + faults.delayMs })
      this.queued += chunk.length
      this.pump()
    }
    this.flow()
  }

  private write(piece: Buffer): void {
    if (this.dst.destroyed) return
    this.delivered(piece.length)
    if (!this.dst.write(piece)) this.blocked = true
  }

  /** Reads on only while the destination takes bytes and the lane holds less than `HIGH_WATER`. */
  private flow(): void {
    if (this.src.destroyed) return
    // a black hole reads on (and drops) whatever the destination's state: the sender must not stall
    if (!this.link.faults.blackHole && (this.blocked || this.queued > HIGH_WATER)) this.src.pause()
    else this.src.resume()
  }

  /** Sends what is due, then passes on the source's end or reset once nothing is held. */
  pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    const faults = this.link.faults
    if (faults.blackHole) return
    while (this.queue.length > 0 && !this.blocked) {
      const head = this.queue[0]!
      const now = Date.now()
      const rate = faults.bytesPerSecond
      const at = rate > 0 ? Math.max(head.due, this.nextFree) : head.due
      if (at > now) {
        this.timer = setTimeout(() => this.pump(), at - now)
        break
      }
      let piece = head.chunk
      if (rate > 0) {
        // slices of at most 1/20 s worth, so the rate holds within a chunk too
        const most = Math.max(1, Math.floor(rate / 20))
        if (piece.length > most) {
          head.chunk = piece.subarray(most)
          piece = piece.subarray(0, most)
        } else this.queue.shift()
        this.nextFree = Math.max(now, this.nextFree) + (piece.length * 1000) / rate
      } else this.queue.shift()
      this.queued -= piece.length
      this.write(piece)
    }
    this.flow()
    if (this.queue.length > 0) return
    if (this.aborted) {
      if (!this.dst.destroyed) this.dst.resetAndDestroy()
    } else if (this.ended && !this.endSent) {
      this.endSent = true
      if (!this.dst.destroyed) this.dst.end()
    }
  }

  /** A black hole drops what the lane holds too. */
  drop(): void {
    this.link.dropped += this.queued
    this.link.counts.dropped += this.queued
    this.queue.length = 0
    this.queued = 0
    this.flow()
  }
}

/** One relayed connection (client side `down`, server side `up`). */
export class Link {
  /** bytes delivered client → server and server → client, and bytes dropped */
  up = 0
  down = 0
  dropped = 0
  /** both sockets closed, or cut */
  closed = false
  private current: Faults
  private readonly lanes: ReadonlyArray<Lane>

  constructor(
    readonly index: number,
    private readonly client: net.Socket,
    private readonly server: net.Socket,
    readonly counts: Counts,
    faults: Faults
  ) {
    this.current = faults
    this.lanes = [
      new Lane(this, client, server, (n) => {
        this.up += n
        counts.up += n
      }),
      new Lane(this, server, client, (n) => {
        this.down += n
        counts.down += n
      })
    ]
    let open = 2
    const gone = () => {
      if (--open === 0) this.closed = true
    }
    for (const socket of [client, server]) {
      socket.on("error", () => {}) // seen as the close that follows
      socket.once("close", gone)
    }
  }

  get faults(): Faults {
    return this.current
  }

  /** Destroys both sockets with a reset (closed from now on, before their close events). */
  cut(): void {
    this.closed = true
    this.client.resetAndDestroy()
    this.server.resetAndDestroy()
  }

  /** Drops every byte both ways and passes no close on, until healed. */
  blackHole(): void {
    this.set({ blackHole: true })
    for (const lane of this.lanes) lane.drop()
  }

  /** The name `CutProxy` gave the black hole. */
  freeze(): void {
    this.blackHole()
  }

  /** Holds every byte `ms` each way. */
  delay(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`delay must be 0 or more ms, got ${ms}`)
    this.set({ delayMs: ms })
  }

  /** Limits each direction to `bytesPerSecond` (0: no limit). */
  throttle(bytesPerSecond: number): void {
    if (!(bytesPerSecond >= 0)) throw new RangeError(`throttle must be 0 or more bytes/s, got ${bytesPerSecond}`)
    this.set({ bytesPerSecond })
  }

  /** Clears every fault; a close that a black hole held back is passed on now. */
  heal(): void {
    this.set(healthy)
  }

  /** @internal */
  set(faults: Partial<Faults>): void {
    this.current = { ...this.current, ...faults }
    for (const lane of this.lanes) lane.pump()
  }
}

/** A running proxy: its port, every link in arrival order, and faults for all of them at once. */
export interface FaultProxy {
  readonly port: number
  readonly connections: ReadonlyArray<Link>
  readonly counts: Counts
  /** links not yet closed */
  readonly live: () => ReadonlyArray<Link>
  /** cuts every link and every held connection */
  readonly cut: () => void
  /** black-holes every link, and new connections too */
  readonly blackHole: () => void
  readonly delay: (ms: number) => void
  readonly throttle: (bytesPerSecond: number) => void
  /** what happens to connections that arrive from now on (until `heal`) */
  readonly newConnections: (mode: NewConnections) => void
  /** clears every fault on every link, relays new connections again, resets held ones */
  readonly heal: () => void
}

/** Starts a proxy to 127.0.0.1:`upstream` for the life of the scope. */
export const make = (upstream: number): Effect.Effect<FaultProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; proxy: FaultProxy }>((resume) => {
      const connections: Array<Link> = []
      const held = new Set<net.Socket>()
      const counts: Counts = { accepted: 0, relayed: 0, refused: 0, held: 0, up: 0, down: 0, dropped: 0 }
      let faults = healthy
      let mode: NewConnections = "relay"
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        counts.accepted++
        socket.on("error", () => {})
        if (mode === "refuse") {
          counts.refused++
          return socket.resetAndDestroy()
        }
        if (mode === "blackHole") {
          counts.held++
          held.add(socket)
          socket.on("data", (c: Buffer) => (counts.dropped += c.length))
          socket.once("close", () => held.delete(socket))
          return
        }
        counts.relayed++
        const up = net.connect({ host: "127.0.0.1", port: upstream, allowHalfOpen: true })
        connections.push(new Link(connections.length, socket, up, counts, faults))
      })
      const live = () => connections.filter((c) => !c.closed)
      const all = (f: Partial<Faults>) => {
        faults = { ...faults, ...f }
        for (const c of live()) c.set(f)
      }
      const resetHeld = () => {
        for (const s of held) s.resetAndDestroy()
      }
      const proxy: FaultProxy = {
        port: 0,
        connections,
        counts,
        live,
        cut: () => {
          for (const c of live()) c.cut()
          resetHeld()
        },
        blackHole: () => {
          faults = { ...faults, blackHole: true }
          mode = "blackHole"
          for (const c of live()) c.blackHole()
        },
        delay: (ms) => {
          if (!(ms >= 0)) throw new RangeError(`delay must be 0 or more ms, got ${ms}`)
          all({ delayMs: ms })
        },
        throttle: (bytesPerSecond) => {
          if (!(bytesPerSecond >= 0)) throw new RangeError(`throttle must be 0 or more bytes/s, got ${bytesPerSecond}`)
          all({ bytesPerSecond })
        },
        newConnections: (next) => {
          mode = next
        },
        heal: () => {
          mode = "relay"
          all(healthy)
          resetHeld()
        }
      }
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, proxy: { ...proxy, port: (server.address() as net.AddressInfo).port } })))
    }),
    ({ proxy, server }) =>
      Effect.sync(() => {
        server.close()
        proxy.cut()
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
