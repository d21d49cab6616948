/**
 * The process's file descriptor limit, checked before binding many listeners. Without the check a port
 * range wider than the limit binds until descriptors run out, and the rest fail one by one with a
 * runtime message that never names the limit (and the server can then no longer accept a connection).
 * Linux only (`/proc/self/limits`); elsewhere there is nothing to read and nothing is checked.
 *
 * Node and Bun raise the soft limit to the hard one at start, so the limit read from inside the process
 * is the hard limit the shell or service manager set: that is the one to raise.
 */
import * as fs from "node:fs"

/** Descriptors kept free for connections and the runtime beyond the listeners and those open now. */
export const MARGIN = 100

/** A limit: soft (what applies) and hard (how far it may be raised); `Infinity` when unlimited. */
export interface Limit {
  readonly soft: number
  readonly hard: number
}

const value = (text: string): number => (text === "unlimited" ? Infinity : Number(text))

/** The "Max open files" line of a `/proc/PID/limits` text, or undefined when it has none. */
export const parse = (limits: string): Limit | undefined => {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits)
  if (m === null) return undefined
  return { soft: value(m[1]!), hard: value(m[2]!) }
}

/** This process's limit, or undefined where `/proc` does not say (not Linux, no `/proc`). */
export const read = (): Limit | undefined => {
  try {
    return parse(fs.readFileSync("/proc/self/limits", "utf8"))
  } catch {
    return undefined
  }
}

/** Descriptors this process has open now, or undefined where `/proc` does not say. */
export const openNow = (): number | undefined => {
  try {
    return fs.readdirSync("/proc/self/fd").length
  } catch {
    return undefined
  }
}

/** A round limit to suggest: what is needed plus room for as many connections again, in steps of 1024. */
const suggestion = (needed: number): number => Math.ceil((needed + 1024) / 1024) * 1024

/**
 * Why `listeners` more listeners do not fit in `limit` with `open` descriptors in use and `MARGIN` to
 * spare, saying how many are needed and what to raise; undefined when they fit.
 */
export const shortfall = (listeners: number, limit: Limit, open: number): string | undefined => {
  const needed = listeners + open + MARGIN
  if (needed <= limit.soft) return undefined
  const raise = suggestion(needed)
  return `need about ${needed} file descriptors (${listeners} listeners + ${open} open now + ${MARGIN} for ` +
    `connections), but this process may open ${limit.soft}: raise the limit, e.g. \`ulimit -n ${raise}\` in the ` +
    `shell that starts it, or \`LimitNOFILE=${raise}\` in its systemd unit`
}

/** `shortfall` for this process, or undefined when it fits or the system does not say. */
export const check = (listeners: number): string | undefined => {
  const limit = read()
  const open = openNow()
  return limit === undefined || open === undefined ? undefined : shortfall(listeners, limit, open)
}
