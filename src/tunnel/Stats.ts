/**
 * Connection counters a running server or client keeps: plain numbers, bumped once per connection (never
 * per chunk), for logs, tests and the benchmark.
 */

/** Counters of one process. */
export interface Stats {
  /** user connections (server) or target connections (client) that started piping */
  opened: number
  /** those still open */
  active: number
  /** user connections refused because `channel_size` was reached */
  refused: number
  /** connections that failed before piping (no data channel in time, target refused, …) */
  failed: number
  /** bytes carried towards the client side / towards the user side, summed over closed connections */
  bytesUp: number
  bytesDown: number
  /** control sessions established */
  sessions: number
  /** data channels admitted (server) or opened (client); each carries one connection after another */
  channels: number
  /** handshakes rejected (wrong token, foreign protocol, …) */
  rejected: number
}

/** Fresh zeroed counters. */
export const make = (): Stats => ({
  opened: 0,
  active: 0,
  refused: 0,
  failed: 0,
  bytesUp: 0,
  bytesDown: 0,
  sessions: 0,
  channels: 0,
  rejected: 0
})

/** Counts a connection that starts piping. */
export const started = (stats: Stats): void => {
  stats.opened++
  stats.active++
}

/** Counts a connection whose pipe has closed, with the bytes it moved. */
export const finished = (stats: Stats, moved: { readonly aToB: number; readonly bToA: number }): void => {
  stats.active--
  stats.bytesUp += moved.aToB
  stats.bytesDown += moved.bToA
}

/** The counters at one moment, as the host program reads them. */
export type Counters = Readonly<Stats>

/** A copy of the counters now. */
export const snapshot = (stats: Stats): Counters => ({ ...stats })
