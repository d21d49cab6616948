/**
 * Which client control session is live on the server (one at a time: a newer authenticated client
 * replaces an older one), and which data channels may join it: each carries the session's id and a
 * counter used once (`ReplayWindow`). The channel strategies (`DataPool`, `MuxSessions`) watch the live
 * session come and go through `watch`.
 */
import type { DataChannelId } from "../protocol/Handshake.ts"
import type { Frame } from "../protocol/Protocol.ts"
import * as ReplayWindow from "./ReplayWindow.ts"

/** The server's view of a live control session. */
export interface LiveSession {
  readonly id: string
  readonly send: (frame: Frame) => void
  /** ends the session (it was replaced); the control session's own fiber then cleans up */
  readonly close: (reason: string) => void
}

/** What a strategy does when the live session changes. */
export interface SessionWatcher {
  /** `session` is live now (any earlier one is over) */
  readonly installed: (session: LiveSession) => void
  /** no session is live any more */
  readonly uninstalled: (id: string) => void
}

export class Sessions {
  private current: LiveSession | undefined
  private currentId: Buffer | undefined
  private replays = ReplayWindow.make()
  private readonly watchers: Array<SessionWatcher> = []

  /** The live session, if any. */
  get live(): LiveSession | undefined {
    return this.current
  }

  /** The live session's id, if any. */
  get sessionId(): string | undefined {
    return this.current?.id
  }

  /** Whether `id` names the live session. */
  isLive(id: string): boolean {
    return this.current !== undefined && this.current.id === id
  }

  /** Whether `id` (16 bytes) names the live session. */
  isLiveId(id: Buffer): boolean {
    return this.currentId !== undefined && this.currentId.equals(id)
  }

  watch(watcher: SessionWatcher): void {
    this.watchers.push(watcher)
  }

  /** Makes `session` the live one, closing any previous session. */
  install(session: LiveSession): void {
    const previous = this.current
    this.current = session
    this.currentId = Buffer.from(session.id, "hex")
    this.replays = ReplayWindow.make()
    for (const w of this.watchers) w.installed(session)
    if (previous) previous.close("replaced by a newer client session")
  }

  /** Forgets `id` if it is still the live session. */
  uninstall(id: string): void {
    if (this.current?.id !== id) return
    this.current = undefined
    this.currentId = undefined
    for (const w of this.watchers) w.uninstalled(id)
  }

  /** Whether a data channel may join: its session is live and its counter is new. */
  admit(id: DataChannelId): "ok" | "unknown" | "replayed" {
    if (!this.isLiveId(id.sessionId)) return "unknown"
    return this.replays.admit(id.counter) ? "ok" : "replayed"
  }
}
