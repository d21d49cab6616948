/**
 * Running one role from a config file: what `backhaul -c file` and `backhaul server|client -c file` do.
 * Kept apart from the argument parser so that the service path loads none of it (see `ServiceArgs.ts`).
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import pkg from "../../package.json" with { type: "json" }
import * as Load from "../config/Load.ts"
import * as Memory from "../util/Memory.ts"
import * as Logging from "./Logging.ts"
import * as Sockets from "./Sockets.ts"
import * as Supervise from "./Supervise.ts"
import type * as Usage from "./Usage.ts"

/** A command failed in a way already explained to the user; the process exits with `code`. */
export class CliExit extends Schema.TaggedError<CliExit>()("CliExit", { code: Schema.Number }) {}

/** Prints an expected failure as one clear message and exits 1. */
export const explain = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
  effect.pipe(
    Effect.catchAll((e) => Effect.zipRight(Console.error(`backhaul: ${e.message}`), new CliExit({ code: 1 })))
  )

/** Loads the config and runs its role until interrupted (SIGINT/SIGTERM drain it, SIGHUP reloads it); `level` is a `--log-level`. */
export const runRole = (
  path: string,
  role: "server" | "client" | undefined,
  format: Logging.LogFormat,
  level?: Usage.LogLevelChoice
) =>
  explain(Effect.gen(function*() {
    const { config, warnings } = yield* Load.loadConfigFile(path, role)
    const logger = Logging.layer(config.log_level, format, level)
    const warn = Effect.forEach(warnings, (w) => Effect.logWarning(w), { discard: true })
    const app = Supervise.supervise(path, config)
    // once the role has settled, hand back what start-up used (a long-running service idles for months)
    yield* Effect.fork(Effect.delay(Effect.sync(Memory.releaseStartup), "1 second"))
    yield* Effect.zipRight(
      warn,
      app.pipe(Effect.annotateLogs({ version: pkg.version }))
    ).pipe(Effect.provide(Sockets.network), Effect.provide(logger))
  }))
