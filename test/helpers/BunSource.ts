/**
 * The source run under Bun (`bun src/cli/main.ts`) as a process: Bun's native sockets (`BunConn`), as in
 * the compiled binary, without needing the binary rebuilt. For behaviour that differs between socket
 * backends (what a closed socket still knows, how listen errors are reported).
 */
import { join } from "node:path"
import * as Processes from "./Processes.ts"

const root = join(import.meta.dirname, "..", "..")

/** The Bun executable the project pins (a dev dependency). */
export const bun = join(root, "node_modules", ".bin", "bun")

/** The CLI entry point. */
export const main = join(root, "src", "cli", "main.ts")

/** Starts `backhaul args…` under Bun for the life of the scope. */
export const start = (args: ReadonlyArray<string>) => Processes.start(bun, [main, ...args], root)

/** Runs `backhaul args…` under Bun with the file descriptor limit set to `fds` (soft and hard). */
export const startLimited = (fds: number, args: ReadonlyArray<string>) =>
  Processes.start("sh", ["-c", `ulimit -n ${fds} && exec "$0" "$@"`, bun, main, ...args], root)
