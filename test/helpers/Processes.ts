/**
 * Real processes for tests: spawn, watch output for a line, signal, and always kill on scope close.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A spawned process with its output so far. */
export interface Proc {
  readonly child: ChildProcess
  readonly output: () => string
  /** resolves when output matches `pattern` (fails after `timeoutMs`) */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Effect.Effect<void, Error>
  /** resolves with the exit code once the process has ended and its output is read */
  readonly done: Effect.Effect<number | null>
  /** sends a signal and resolves with the exit code */
  readonly stop: (signal?: NodeJS.Signals) => Effect.Effect<number | null>
}

/** Spawns `command args…` for the life of the scope. */
export const start = (command: string, args: ReadonlyArray<string>, cwd?: string): Effect.Effect<Proc, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } })
      let out = ""
      const listeners = new Set<() => void>()
      const onData = (c: Buffer) => {
        out += c.toString()
        for (const l of listeners) l()
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      // "close" comes after all output has been read, unlike "exit"
      const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
      const proc: Proc = {
        child,
        output: () => out,
        done: Effect.promise(() => exited),
        waitFor: (pattern, timeoutMs = 20_000) =>
          Effect.async<void, Error>((resume) => {
            const check = () => {
              if (pattern.test(out)) {
                cleanup()
                resume(Effect.void)
              }
            }
            const timer = setTimeout(() => {
              cleanup()
              resume(Effect.fail(new Error(`timed out waiting for ${pattern} in output of ${command}:\n${out}`)))
            }, timeoutMs)
            const onExit = () => {
              cleanup()
              resume(Effect.fail(new Error(`${command} exited while waiting for ${pattern}:\n${out}`)))
            }
            const cleanup = () => {
              clearTimeout(timer)
              listeners.delete(check)
              child.off("exit", onExit)
            }
            listeners.add(check)
            child.once("exit", onExit)
            check()
            return Effect.sync(cleanup)
          }),
        stop: (signal = "SIGTERM") =>
          Effect.promise(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            return exited
          })
      }
      return proc
    }),
    (proc) => Effect.sync(() => proc.child.kill("SIGKILL"))
  )

/** Runs a command to completion and returns its exit code and output. */
export const run = (command: string, args: ReadonlyArray<string>, cwd?: string) =>
  Effect.scoped(Effect.flatMap(start(command, args, cwd), (p) => Effect.map(p.done, (code) => ({ code, output: p.output() }))))

/** Writes files into a fresh temporary folder and returns its path. */
export const tempFiles = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), "backhaul-test-"))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}
