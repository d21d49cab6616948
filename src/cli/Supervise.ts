/**
 * A role run as a service: started from its config file, reloaded on SIGHUP (and, opt-in with
 * `watch_config`, when the file changes), drained when the process is asked to stop.
 *
 * - Reload: the file is read and checked again; an invalid file is rejected with every problem logged
 *   and the running config keeps going. A server applies the change itself (`RunningServer.reload`: user
 *   ports untouched unless changed, a new tunnel side when tunnel settings changed). A client starts anew
 *   with the new config while the old one says Goodbye and drains, so its live connections finish.
 * - Stop (SIGTERM/SIGINT, see `RunMain.ts`): the finalizer here drains the role first — no new
 *   connections, goodbye to the peer, live connections get `drain_timeout` — then the role's scope closes.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import { Client, type RunningClient } from "../client/Client.ts"
import type { AnyConfig, ServerConfig } from "../config/Config.ts"
import { changedKeys } from "../config/Diff.ts"
import * as Load from "../config/Load.ts"
import * as Memory from "../util/Memory.ts"
import { type RunningServer, Server } from "../server/Server.ts"
import type { Network } from "../net/Network.ts"
import * as Tunnel from "../Tunnel.ts"

type Running =
  | { readonly role: "server"; readonly config: AnyConfig; readonly scope: Scope.CloseableScope; readonly value: RunningServer }
  | { readonly role: "client"; readonly config: AnyConfig; readonly scope: Scope.CloseableScope; readonly value: RunningClient }

/** How often the file is looked at with `watch_config` (polled: editors replace files rather than write them). */
const WATCH_INTERVAL_MILLIS = 2_000

const start = (config: AnyConfig, parent: Scope.Scope): Effect.Effect<Running, { readonly message: string }, Network> =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    const built: Effect.Effect<Running, { readonly message: string }, Network> = config.role === "server"
      ? Effect.map(Layer.buildWithScope(Tunnel.serverLayer(config), scope), (ctx): Running => ({
        role: "server",
        config,
        scope,
        value: Context.get(ctx, Server)
      }))
      : Effect.map(Layer.buildWithScope(Tunnel.clientLayer(config), scope), (ctx): Running => ({
        role: "client",
        config,
        scope,
        value: Context.get(ctx, Client)
      }))
    return yield* built.pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
  })

const drain = (running: Running) => running.value.drain

/** Runs the role of `config` (read from `path`) until interrupted, reloading on SIGHUP. */
export const supervise = (path: string, first: AnyConfig) =>
  Effect.scoped(Effect.gen(function*() {
    const parent = yield* Effect.scope
    let current = yield* start(first, parent)
    // finalizers run last-added first: this drain runs before the role's scope closes
    yield* Effect.addFinalizer(() => drain(current))
    // the binary owns its process and gives memory back after bursts; the library never collects a
    // host program's heap on its own
    yield* Effect.forkScoped(Memory.releaseAfterBursts(() => current.value.stats.opened))

    const requests = yield* Queue.sliding<string>(1)
    const ask = (why: string) => () => Queue.unsafeOffer(requests, why)
    const onHup = ask("SIGHUP")
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("SIGHUP", onHup)),
      () => Effect.sync(() => process.off("SIGHUP", onHup))
    )
    if (first.watch_config) {
      const onChange = (now: fs.Stats, before: fs.Stats) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) ask("the file changed")()
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => fs.watchFile(path, { interval: WATCH_INTERVAL_MILLIS, persistent: false }, onChange)),
        () => Effect.sync(() => fs.unwatchFile(path, onChange))
      )
      yield* Effect.logInfo(`watching ${path} for changes (watch_config = true)`)
    }

    const reload = (why: string) =>
      Effect.gen(function*() {
        yield* Effect.logInfo(`reloading ${path} (${why})`)
        const loaded = yield* Effect.either(Load.loadConfigFile(path, current.role))
        if (loaded._tag === "Left") {
          return yield* Effect.logError(`reload rejected, the running config is kept:\n${loaded.left.message}`)
        }
        const { config: next, warnings } = loaded.right
        for (const w of warnings) yield* Effect.logWarning(w)
        if (current.role === "server") {
          const outcome = yield* Effect.either(current.value.reload(next as ServerConfig))
          return yield* outcome._tag === "Right"
            ? Effect.logInfo(`reloaded: ${outcome.right}`)
            : Effect.logError(`reload rejected, the running config is kept: ${outcome.left.message}`)
        }
        const changed = changedKeys(current.config, next)
        if (changed.length === 0) return yield* Effect.logInfo("reloaded: no change")
        const started = yield* Effect.either(start(next, parent))
        if (started._tag === "Left") {
          return yield* Effect.logError(`reload rejected, the running client is kept: ${started.left.message}`)
        }
        // the old client says goodbye and drains beside the new one; its live connections finish
        const old = current
        current = started.right
        yield* Effect.forkIn(Effect.zipRight(drain(old), Scope.close(old.scope, Exit.void)), parent)
        yield* Effect.logInfo(`reloaded: new client session (${changed.join(", ")} changed)`)
      })

    return yield* Effect.forever(Effect.flatMap(Queue.take(requests), reload))
  }))
