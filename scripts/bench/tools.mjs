// The external load tools: present, installed with apt-get when we are root, or a clear message.
import { spawnSync } from "node:child_process"

/** Program name -> Debian package: the tools the benchmark needs. */
const TOOLS = { iperf3: "iperf3", socat: "socat", wrk: "wrk" }
/** Tools of a reference measurement only: installed along, left out with a note when they cannot be had. */
const OPTIONAL = { haproxy: "haproxy" }

/** Whether `cmd` is on PATH. */
export const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0

/** Makes sure every needed tool is on PATH; returns an error message when one cannot be had. */
export function ensureTools() {
  const absent = (tools) => Object.keys(tools).filter((t) => !has(t))
  if (absent(TOOLS).length === 0 && absent(OPTIONAL).length === 0) return undefined
  if (process.getuid?.() === 0 && has("apt-get")) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    spawnSync("apt-get", ["update", "-q"], { stdio: ["ignore", "ignore", "inherit"], env, timeout: 300_000 })
    // one install per group: a package apt cannot find fails its whole command, and an optional one
    // must not cost the needed ones
    for (const tools of [TOOLS, OPTIONAL]) {
      const packages = absent(tools).map((t) => tools[t])
      if (packages.length === 0) continue
      console.error(`bench: installing ${packages.join(" ")} with apt-get`)
      spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...packages], { stdio: ["ignore", "ignore", "inherit"], env, timeout: 600_000 })
    }
    const still = absent(TOOLS)
    return still.length === 0 ? undefined : `bench: apt-get could not install ${still.join(", ")}; install them and run again`
  }
  const still = absent(TOOLS)
  if (still.length === 0) return undefined
  return `bench: missing ${still.join(", ")}. Install them (Debian/Ubuntu: sudo apt-get install ${still.map((t) => TOOLS[t]).join(" ")}) and run again.`
}

/** The first line a tool prints about its version (for the machine info). */
export function toolVersion(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5_000 })
  const text = `${r.stdout ?? ""}\n${r.stderr ?? ""}`
  return text.split("\n").map((l) => l.trim()).find((l) => /\d+\.\d+/.test(l)) ?? null
}
