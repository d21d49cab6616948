/**
 * The compiled binary as tunnel processes for end-to-end tests: config files for a server with one user
 * port per target and a client of it, and the processes started and ready.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { join } from "node:path"
import { freePort } from "../../src/net/FreePort.ts"
import * as Processes from "./Processes.ts"

/** dist/backhaul (built by `npm test` before vitest runs). */
export const binary = join(import.meta.dirname, "..", "..", "dist", "backhaul")

/** Settings of a binary tunnel. */
export interface Options {
  readonly token?: string
  /** extra TOML lines for both configs */
  readonly extra?: ReadonlyArray<string>
  /** extra TOML lines for one side only (TLS files) */
  readonly serverExtra?: ReadonlyArray<string>
  readonly clientExtra?: ReadonlyArray<string>
  /** the client's command line for its config path (default `-c path`) */
  readonly clientArgs?: (configPath: string) => ReadonlyArray<string>
  /** the port the client dials instead of the server's (a proxy in between) */
  readonly via?: (tunnelPort: number) => Effect.Effect<number, never, Scope.Scope>
}

/** A server process with one user port per target port, listening; and the client config beside it. */
export const server = (targets: ReadonlyArray<number>, options: Options = {}) =>
  Effect.gen(function*() {
    const token = options.token ?? "native"
    const tunnelPort = yield* freePort()
    const remotePort = options.via ? yield* options.via(tunnelPort) : tunnelPort
    const userPorts = yield* Effect.forEach(targets, () => freePort())
    const ports = targets.map((t, i) => `"127.0.0.1:${userPorts[i]}=127.0.0.1:${t}"`).join(", ")
    const common = [`token = "${token}"`, ...(options.extra ?? [])]
    const dir = Processes.tempFiles({
      "server.toml": ["[server]", `bind_addr = "127.0.0.1:${tunnelPort}"`, ...common, ...(options.serverExtra ?? []), `ports = [${ports}]`]
        .join("\n"),
      "client.toml": ["[client]", `remote_addr = "127.0.0.1:${remotePort}"`, ...common, ...(options.clientExtra ?? []), "retry_interval = 1"]
        .join("\n")
    })
    const process = yield* Processes.start(binary, ["-c", join(dir, "server.toml")])
    yield* process.waitFor(new RegExp(`user ports: ${targets.length} of ${targets.length} listening`))
    return { tunnelPort, userPorts, server: process, clientConfig: join(dir, "client.toml") }
  })

/** A server (as `server`) and a client process connected to it. */
export const tunnel = (targets: ReadonlyArray<number>, options: Options = {}) =>
  Effect.gen(function*() {
    const started = yield* server(targets, options)
    const args = options.clientArgs?.(started.clientConfig) ?? ["-c", started.clientConfig]
    const client = yield* Processes.start(binary, args)
    yield* client.waitFor(/connected to/)
    return { ...started, client }
  })
