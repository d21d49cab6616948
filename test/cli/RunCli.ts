/**
 * The CLI from source (`node --import tsx src/cli/main.ts …`) as a process for the command-line tests, with
 * stdout and stderr apart and the environment under the test's control (NO_COLOR set or not), bounded in
 * time: a process still running at the deadline is killed and reported as such.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"

const root = join(import.meta.dirname, "..", "..")

/** What a finished run printed and how it ended; `timedOut` when it had to be killed. */
export interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

/** Options of a run. */
export interface RunOptions {
  /** environment variables added to (or, as undefined, removed from) the test's own */
  readonly env?: Record<string, string | undefined>
  /** killed after this long (default 60 s: tsx start-up alone takes seconds on a loaded machine) */
  readonly timeoutMs?: number
}

const environment = (extra: RunOptions["env"]): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

/** Runs `backhaul args…` from source with stdin closed (/dev/null) and resolves when it ends. */
export const run = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Outcome> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: root,
      env: environment(options.env),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, options.timeoutMs ?? 60_000)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, timedOut })
    })
  })
