/**
 * A user connection held open through a tunnel to an echo target: it can send a line and read it back
 * at any time, and it reports whether the connection is still alive.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

/** A held connection. */
export interface Holder {
  /** sends `text` and resolves with what came back (the echo), or fails if the connection is gone */
  readonly echo: (text: string) => Effect.Effect<string, Error>
  /** the connection was reset or closed */
  readonly dead: () => boolean
}

/** Opens a connection to 127.0.0.1:`port` and keeps it open for the life of the scope. */
export const hold = (port: number): Effect.Effect<Holder, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ socket: net.Socket; state: { dead: boolean; buffer: string; wake?: () => void } }, Error>((resume) => {
      const state: { dead: boolean; buffer: string; wake?: () => void } = { dead: false, buffer: "" }
      const socket = net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed({ socket, state })))
      socket.setEncoding("utf8")
      socket.on("data", (c: string) => {
        state.buffer += c
        state.wake?.()
      })
      const gone = () => {
        state.dead = true
        state.wake?.()
      }
      socket.on("error", (e) => {
        gone()
        resume(Effect.fail(e))
      })
      socket.on("close", gone)
      socket.on("end", gone)
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.map(({ socket, state }) => ({
    dead: () => state.dead,
    echo: (text: string) =>
      Effect.async<string, Error>((resume) => {
        if (state.dead) return resume(Effect.fail(new Error("connection is gone")))
        state.buffer = ""
        const check = () => {
          if (state.buffer.length >= text.length) {
            state.wake = undefined
            resume(Effect.succeed(state.buffer))
          } else if (state.dead) {
            state.wake = undefined
            resume(Effect.fail(new Error("connection is gone")))
          }
        }
        state.wake = check
        socket.write(text)
      }).pipe(Effect.timeoutFail({ duration: 5_000, onTimeout: () => new Error(`no echo of ${text}`) }))
  })))
