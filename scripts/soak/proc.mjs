// What the soak reads of a tunnel process from /proc at each sample: RSS, open fds, CPU time.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fdCount, memory } from "../bench/procs.mjs"

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on every common kernel). */
const ticks = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  return Number(r.stdout?.trim()) || 100
})()

/** User + system CPU seconds a process has used, from /proc/PID/stat (NaN when it is gone). */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticks
  } catch {
    return NaN
  }
}

/** One reading of a process: RSS and its anonymous part in MB (10^6 bytes, as the bench), fds, CPU seconds. */
export function read(pid) {
  let m
  try {
    m = memory(pid)
  } catch {
    m = { rssKiB: NaN, anonKiB: NaN }
  }
  return { rssMB: (m.rssKiB * 1024) / 1e6, anonMB: (m.anonKiB * 1024) / 1e6, fds: fdCount(pid), cpuS: cpuSeconds(pid) }
}
