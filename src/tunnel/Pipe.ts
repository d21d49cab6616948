/**
 * The bidirectional byte pump between two connections: each forwards what it reads to the other, with
 * backpressure (a slow reader pauses the fast writer; nothing buffers beyond one chunk per direction plus
 * the kernel's buffers) and no Effect per chunk. Half-close is kept: when one side ends its writes, the
 * other side is ended too and can still answer. A side that closes without ending cleanly (a reset)
 * takes the other side down with it.
 */
import * as Effect from "effect/Effect"
import { type Cancel, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"

/** Bytes moved each way, for logs and tests. */
export interface PipeStats {
  /** bytes read from `a` and written to `b` */
  readonly aToB: number
  /** bytes read from `b` and written to `a` */
  readonly bToA: number
}

/** Pumps bytes both ways until both connections have closed, then calls back. Cancelling destroys both. */
export const run = (a: Conn, b: Conn, done: (stats: PipeStats) => void): Cancel => {
  const failBoth = () => {
    a.destroy()
    b.destroy()
  }
  let open = 2
  const closed = (self: Conn) => {
    if (!self.readEnded) (self === a ? b : a).destroy()
    if (--open === 0) done({ aToB: a.bytesRead, bToA: b.bytesRead })
  }
  a.forward(b)
  b.forward(a)
  a.onClose(closed)
  b.onClose(closed)
  return failBoth
}

/** `run` as an Effect; interruption destroys both connections. */
export const pipe = (a: Conn, b: Conn): Effect.Effect<PipeStats> =>
  toEffect<PipeStats, never>((done) => run(a, b, (stats) => done(undefined, stats)))
