// What the numbers were measured on: cores, kernel, runtime and tool versions, the build measured.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, statSync } from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { bunExecutable } from "../bun.mjs"
import { toolVersion } from "./tools.mjs"

const firstLine = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 })
  return r.status === 0 ? r.stdout.trim().split("\n")[0] : null
}

/** The commit checked out, read from .git without running git (null when unknown). */
function commit(root) {
  try {
    const head = readFileSync(join(root, ".git", "HEAD"), "utf8").trim()
    if (!head.startsWith("ref: ")) return head
    const ref = head.slice(5)
    const loose = join(root, ".git", ref)
    if (existsSync(loose)) return readFileSync(loose, "utf8").trim()
    const packed = readFileSync(join(root, ".git", "packed-refs"), "utf8")
    return packed.split("\n").find((l) => l.endsWith(` ${ref}`))?.split(" ")[0] ?? null
  } catch {
    return null
  }
}

/** `binary` is dist/backhaul, `measured` the copy the run uses. */
export function machineInfo(root, binary, measured, fdLimit) {
  const bun = bunExecutable()
  return {
    cores: Number(firstLine("nproc", [])) || os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? null,
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: firstLine("uname", ["-r"]),
    node: process.version,
    bun: bun === undefined ? null : firstLine(bun, ["--version"]),
    backhaul: firstLine(measured, ["--version"]),
    binaryBuilt: statSync(binary).mtime.toISOString(),
    commit: commit(root),
    iperf3: toolVersion("iperf3", ["--version"]),
    socat: toolVersion("socat", ["-V"]),
    wrk: toolVersion("wrk", ["-v"]),
    haproxy: toolVersion("haproxy", ["-v"]),
    fdLimit,
    tcp: {
      ip_local_port_range: firstLine("sysctl", ["-n", "net.ipv4.ip_local_port_range"]),
      tcp_tw_reuse: firstLine("sysctl", ["-n", "net.ipv4.tcp_tw_reuse"]),
      somaxconn: firstLine("sysctl", ["-n", "net.core.somaxconn"])
    }
  }
}
