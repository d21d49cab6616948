// Every process the benchmark starts goes through here, so that every one of them is stopped again: on
// success, on a harness error, and on Ctrl-C / SIGTERM. Children run in their own process group (so a
// forking program such as socat is stopped with its children) behind `bash -c 'ulimit -n …; exec …'`,
// which raises the open-file limit and then *becomes* the program: the PID we hold is the program's.
import { spawn, spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"

const live = new Set()
let shuttingDown = false

/** The hard open-file limit children can be raised to (no CAP_SYS_RESOURCE: cannot go past it). */
export const hardFdLimit = (() => {
  const r = spawnSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" })
  const n = r.stdout.trim()
  return n === "unlimited" ? 1_048_576 : Number(n) || 1024
})()

/** The soft limit given to every child: 65535, or the hard limit when that is lower. */
export const childFdLimit = Math.min(65_535, hardFdLimit)

const KEEP_LINES = 200

/**
 * Starts `cmd args` with a raised fd limit. Returns a handle with the child, its recent output lines, an
 * `exited` promise and `waitFor(regex, ms)` which resolves with the first matching line (stdout or stderr).
 */
export function start(name, cmd, args, { cwd, env, stdin = "ignore" } = {}) {
  if (shuttingDown) throw new Error(`not starting ${name}: the benchmark is shutting down`)
  const child = spawn("bash", ["-c", `ulimit -n ${childFdLimit} && exec "$@"`, "bash", cmd, ...args], {
    cwd,
    env: env ?? process.env,
    stdio: [stdin, "pipe", "pipe"],
    detached: true
  })
  const handle = {
    name,
    child,
    pid: child.pid,
    lines: [],
    watchers: new Set(),
    exitCode: undefined,
    exited: undefined,
    waitFor: (regex, ms) => waitFor(handle, regex, ms),
    stop: (ms) => stop(handle, ms)
  }
  live.add(handle)
  handle.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(handle)
      handle.exitCode = code ?? signal
      for (const w of handle.watchers) w(null)
      resolve(handle.exitCode)
    })
  })
  child.on("error", (e) => handle.lines.push(`spawn error: ${e.message}`))
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ""
    stream.setEncoding("utf8")
    stream.on("data", (text) => {
      const parts = (partial + text).split("\n")
      partial = parts.pop()
      for (const line of parts) {
        handle.lines.push(line)
        if (handle.lines.length > KEEP_LINES) handle.lines.shift()
        for (const w of handle.watchers) w(line)
      }
    })
  }
  return handle
}

function waitFor(handle, regex, ms) {
  const seen = handle.lines.find((l) => regex.test(l))
  if (seen !== undefined) return Promise.resolve(seen)
  return new Promise((resolve, reject) => {
    const done = (fn) => {
      clearTimeout(timer)
      handle.watchers.delete(watch)
      fn()
    }
    const watch = (line) => {
      if (line === null) {
        done(() => reject(new Error(`${handle.name} exited (${handle.exitCode}) before printing ${regex}\n${tail(handle)}`)))
      } else if (regex.test(line)) done(() => resolve(line))
    }
    const timer = setTimeout(
      () => done(() => reject(new Error(`${handle.name}: no ${regex} within ${ms} ms\n${tail(handle)}`))),
      ms
    )
    handle.watchers.add(watch)
    if (handle.exitCode !== undefined) watch(null)
  })
}

/** The last lines a process printed, for error messages. */
export const tail = (handle, n = 15) => handle.lines.slice(-n).map((l) => `  | ${l}`).join("\n")

const signalGroup = (handle, signal) => {
  try {
    process.kill(-handle.pid, signal)
  } catch {
    try {
      handle.child.kill(signal)
    } catch { /* already gone */ }
  }
}

/** SIGTERM, then SIGKILL after `ms`. Resolves with the exit code (or signal name). */
export async function stop(handle, ms = 3_000) {
  if (handle.exitCode !== undefined) return handle.exitCode
  signalGroup(handle, "SIGTERM")
  const timer = setTimeout(() => signalGroup(handle, "SIGKILL"), ms)
  const code = await handle.exited
  clearTimeout(timer)
  // a forking child (socat) may leave members of its group behind
  signalGroup(handle, "SIGKILL")
  return code
}

/** Stops every process still running. */
export const stopAll = () => Promise.all([...live].map((h) => stop(h, 2_000)))

/** Stops everything and refuses to start anything more (Ctrl-C, fatal error, end of run). */
export const shutdown = () => {
  shuttingDown = true
  return stopAll()
}
export const isShuttingDown = () => shuttingDown

/** Last-resort, synchronous: for `process.on("exit")`. */
export const killAllNow = () => {
  for (const h of live) signalGroup(h, "SIGKILL")
}

/**
 * Runs a command to completion (bounded by `ms`) and returns { code, stdout, stderr, ms }.
 * Also registered, so Ctrl-C stops it.
 */
export async function run(name, cmd, args, ms, opts) {
  const t0 = performance.now()
  const handle = start(name, cmd, args, opts)
  const timer = setTimeout(() => signalGroup(handle, "SIGKILL"), ms)
  const out = { stdout: [], stderr: [] }
  handle.child.stdout.on("data", (t) => out.stdout.push(t))
  handle.child.stderr.on("data", (t) => out.stderr.push(t))
  const code = await handle.exited
  clearTimeout(timer)
  return { code, stdout: out.stdout.join(""), stderr: out.stderr.join(""), ms: performance.now() - t0 }
}

/** Memory of a process from /proc/PID/status, in KiB: VmRSS and its anon/file/shmem parts, VmHWM. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN)
  return {
    rssKiB: kib("VmRSS"),
    anonKiB: kib("RssAnon"),
    fileKiB: kib("RssFile"),
    shmemKiB: kib("RssShmem"),
    hwmKiB: kib("VmHWM"),
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
  }
}

/** Number of open file descriptors of a process. */
export const fdCount = (pid) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return NaN
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
