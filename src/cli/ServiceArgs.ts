/**
 * Recognizes the command lines a service manager runs — `-c file` and `server|client -c file`, with
 * `--log-level` and `--log-format` anywhere — so that `main.ts` can start the role without loading the
 * full argument parser (@effect/cli and the platform services it needs: about 12 MB of a process's idle
 * memory). Anything else, including every malformed or unusual line, goes to the full CLI, which explains
 * it; both read the line with `Argv.ts`, so they agree on what it means.
 */
import * as Either from "effect/Either"
import * as Argv from "./Argv.ts"
import type { LogFormat } from "./Logging.ts"
import type * as Usage from "./Usage.ts"

/** A service command line. */
export interface ServiceArgs {
  readonly path: string
  readonly role: "server" | "client" | undefined
  readonly format: LogFormat
  /** `--log-level`, which beats the config's `log_level` */
  readonly level: Usage.LogLevelChoice | undefined
}

/** The service command line in `args` (argv without the runtime and script), or undefined. */
export const parse = (args: ReadonlyArray<string>): ServiceArgs | undefined => {
  const read = Argv.read(args)
  if (Either.isLeft(read) || read.right.builtIn !== undefined) return undefined
  const { command, format, level, rest } = read.right
  if (command !== undefined && command !== "server" && command !== "client") return undefined
  // Argv spells the config option `--config PATH`; the command, if any, must come first
  const expected = command === undefined ? 2 : 3
  if (rest.length !== expected || (command !== undefined && rest[0] !== command)) return undefined
  if (rest[expected - 2] !== "--config") return undefined
  return { path: rest[expected - 1]!, role: command, format: format ?? "logfmt", level }
}
