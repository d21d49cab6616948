/**
 * Recognizes the command lines a service manager runs — `-c file` and `server|client -c file`, with an
 * optional `--log-format` — so that `main.ts` can start the role without loading the full argument
 * parser (@effect/cli and the platform services it needs: about 12 MB of a process's idle memory).
 * Anything else, including every malformed or unusual line, goes to the full CLI, which explains it.
 */
import type { LogFormat } from "./Logging.ts"

/** A service command line. */
export interface ServiceArgs {
  readonly path: string
  readonly role: "server" | "client" | undefined
  readonly format: LogFormat
}

/** The service command line in `args` (argv without the runtime and script), or undefined. */
export const parse = (args: ReadonlyArray<string>): ServiceArgs | undefined => {
  let role: ServiceArgs["role"]
  let path: string | undefined
  let format: LogFormat | undefined
  let i = 0
  if (args[0] === "server" || args[0] === "client") role = args[i++] as "server" | "client"
  while (i < args.length) {
    const arg = args[i++]!
    const eq = arg.indexOf("=")
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg
    const value = name !== arg ? arg.slice(eq + 1) : args[i++]
    if (value === undefined || value === "" || value.startsWith("-")) return undefined
    if ((name === "-c" || name === "--config") && path === undefined) path = value
    else if (name === "--log-format" && format === undefined && (value === "logfmt" || value === "json")) format = value
    else return undefined
  }
  return path === undefined ? undefined : { path, role, format: format ?? "logfmt" }
}
