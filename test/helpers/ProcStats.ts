/**
 * What a process holds, read from Linux's /proc: open file descriptors and resident memory. For tests that
 * check a long-running server or client does not grow across reconnects (the process must be a child, not
 * the test's own, so the test's sockets do not count).
 */
import { readdirSync, readFileSync } from "node:fs"

/** One reading of a process. */
export interface Sample {
  readonly fds: number
  /** VmRSS, KiB */
  readonly rssKiB: number
}

/** Open file descriptors of `pid` (entries of /proc/PID/fd). */
export const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

/** Resident set size of `pid` in KiB (VmRSS of /proc/PID/status). */
export const rssKiB = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status (has the process exited?)`)
  return Number(m[1])
}

/** Both readings of `pid`. */
export const sample = (pid: number): Sample => ({ fds: fds(pid), rssKiB: rssKiB(pid) })

/** Median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) throw new Error("median of nothing")
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** How a series moved: the median of an early window (1-based cycles, inclusive) against the last `tail`. */
export interface Growth {
  readonly early: number
  readonly late: number
}

/**
 * Compares the median of cycles `from`..`to` (1-based, after warm-up) with the median of the last `tail`
 * cycles: medians, so one reading taken while a socket was closing does not decide.
 */
export const growth = (series: ReadonlyArray<number>, from: number, to: number, tail: number): Growth => {
  if (series.length < to || series.length < tail) {
    throw new Error(`need at least ${Math.max(to, tail)} samples, got ${series.length}`)
  }
  return { early: median(series.slice(from - 1, to)), late: median(series.slice(-tail)) }
}
