/**
 * The client control sessions live on the server, and which data channels may join each. Several clients
 * holding the token may be live at once (up to `max_clients`) and share the user connections; a client
 * process is one *instance* (a random id it proves in its handshake), so a client that reconnects replaces
 * its own older session instead of counting as a second client. A data channel names its session's id
 * and a counter used once (`ReplayWindow`, one per session).
 *
 * Every data channel and mux session that joins a session is tracked with it: when a session is declared
 * dead (its heartbeats stopped), all of them are reset, busy ones included, so no user connection hangs
 * on a peer that is gone and no late request reaches a target after the user gave up. A session that ends
 * any other way (the client closed it, or replaced it by reconnecting) leaves its live connections alone.
 */
import type { Conn } from "../net/Conn.ts"
import type { DataChannelId } from "../protocol/Handshake.ts"
import type { Frame } from "../protocol/Protocol.ts"
import * as ReplayWindow from "./ReplayWindow.ts"

/** What a control session tells its `Sessions` when it starts. */
export interface SessionInit {
  readonly id: string
  /** the client process's instance id (hex) */
  readonly instance: string
  /** the client's address as logged (`host:port`) */
  readonly remote: string
  /** the client's host, for the auth limiter's exemption */
  readonly host: string
  readonly send: (frame: Frame) => void
  /** ends the session (replaced or shutting down); the control session's own fiber then cleans up */
  readonly close: (reason: string) => void
}

/** The server's view of a live control session. */
export interface LiveSession extends SessionInit {
  readonly idBytes: Buffer
  /** when the client was last heard from on its control channel (ms since the epoch) */
  lastHeard: number
}

/** What a strategy does when sessions come and go. */
export interface SessionWatcher {
  /** `session` is live now */
  readonly installed: (session: LiveSession) => void
  /** `session` is over; `dead` when it was declared dead (its channels are being reset) */
  readonly uninstalled: (session: LiveSession, dead: boolean) => void
}

interface Entry {
  readonly session: LiveSession
  readonly replays: ReplayWindow.ReplayWindow
  /** data channels and mux sessions joined to it, until they close */
  readonly joined: Set<Conn>
  readonly forget: (conn: Conn) => void
}

/** Why a new control session is refused. */
export type Refusal = "TooManyClients"

export class Sessions {
  private readonly byId = new Map<string, Entry>()
  private readonly watchers: Array<SessionWatcher> = []

  constructor(private maxClients: number = Number.POSITIVE_INFINITY) {}

  /** Live sessions, oldest first. */
  get live(): ReadonlyArray<LiveSession> {
    return Array.from(this.byId.values(), (e) => e.session)
  }

  get size(): number {
    return this.byId.size
  }

  /** Changes the limit (reload); sessions above it are not closed, new ones are refused until below. */
  setMaxClients(n: number): void {
    this.maxClients = n
  }

  /** The live session `id`, if any. */
  get(id: string): LiveSession | undefined {
    return this.byId.get(id)?.session
  }

  /** Whether `id` names a live session. */
  isLive(id: string): boolean {
    return this.byId.has(id)
  }

  /** Whether a live session's client connects from `host` (such a host is never locked out). */
  hasHost(host: string): boolean {
    for (const e of this.byId.values()) if (e.session.host === host) return true
    return false
  }

  watch(watcher: SessionWatcher): void {
    this.watchers.push(watcher)
  }

  /**
   * Whether a new control session of client `instance` may start now: always when it replaces that
   * instance's own session; otherwise while fewer than `max_clients` are live, or when one of them has
   * been silent longer than `staleMillis` (likely dead, not yet declared so: it gives way).
   */
  mayStart(instance: string, staleMillis: number, now = Date.now()): true | Refusal {
    if (this.byId.size < this.maxClients) return true
    for (const e of this.byId.values()) {
      if (e.session.instance === instance || now - e.session.lastHeard > staleMillis) return true
    }
    return "TooManyClients"
  }

  /**
   * Makes `init` live. The same instance's older session is closed (the client reconnected); at the limit,
   * the session silent longest gives way. Returns the sessions it closed.
   */
  install(init: SessionInit, now = Date.now()): LiveSession {
    const session: LiveSession = { ...init, idBytes: Buffer.from(init.id, "hex"), lastHeard: now }
    const replaced: Array<LiveSession> = []
    for (const e of this.byId.values()) if (e.session.instance === init.instance) replaced.push(e.session)
    if (replaced.length === 0 && this.byId.size >= this.maxClients) {
      let quietest: LiveSession | undefined
      for (const e of this.byId.values()) {
        if (quietest === undefined || e.session.lastHeard < quietest.lastHeard) quietest = e.session
      }
      if (quietest) replaced.push(quietest)
    }
    const joined = new Set<Conn>()
    this.byId.set(init.id, { session, replays: ReplayWindow.make(), joined, forget: (conn) => joined.delete(conn) })
    for (const w of this.watchers) w.installed(session)
    for (const old of replaced) {
      this.uninstall(old.id, false)
      old.close(old.instance === init.instance ? "replaced by a newer session of the same client" : "replaced by another client (max_clients)")
    }
    return session
  }

  /**
   * Forgets `id` if it is live. When it was declared `dead`, every data channel and mux session that
   * joined it is destroyed (their user connections see a reset).
   */
  uninstall(id: string, dead: boolean): void {
    const entry = this.byId.get(id)
    if (entry === undefined) return
    this.byId.delete(id)
    for (const w of this.watchers) w.uninstalled(entry.session, dead)
    if (dead) {
      const all = [...entry.joined]
      entry.joined.clear()
      for (const conn of all) conn.destroy()
    }
  }

  /** Whether a data channel may join: its session is live and its counter is new. */
  admit(id: DataChannelId): "ok" | "unknown" | "replayed" {
    const entry = this.byId.get(id.sessionId.toString("hex"))
    if (entry === undefined) return "unknown"
    return entry.replays.admit(id.counter) ? "ok" : "replayed"
  }

  /** Tracks `conn` as joined to session `id` until it closes; false if that session is gone. */
  track(id: string, conn: Conn): boolean {
    const entry = this.byId.get(id)
    if (entry === undefined) return false
    entry.joined.add(conn)
    conn.onClose(entry.forget)
    return true
  }
}
