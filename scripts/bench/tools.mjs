// The external load tools: present, installed with apt-get when we are root, or a clear message.
import { spawnSync } from "node:child_process"

/** Program name -> Debian package. */
const TOOLS = { iperf3: "iperf3", socat: "socat", wrk: "wrk" }

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0

/** Makes sure every tool is on PATH; returns an error message when one cannot be had. */
export function ensureTools() {
  const missing = Object.keys(TOOLS).filter((t) => !has(t))
  if (missing.length === 0) return undefined
  const packages = missing.map((t) => TOOLS[t])
  if (process.getuid?.() === 0 && has("apt-get")) {
    console.error(`bench: installing ${packages.join(" ")} with apt-get`)
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    spawnSync("apt-get", ["update", "-q"], { stdio: ["ignore", "ignore", "inherit"], env, timeout: 300_000 })
    spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...packages], { stdio: ["ignore", "ignore", "inherit"], env, timeout: 600_000 })
    const still = Object.keys(TOOLS).filter((t) => !has(t))
    if (still.length === 0) return undefined
    return `bench: apt-get could not install ${still.join(", ")}; install them and run again`
  }
  return `bench: missing ${missing.join(", ")}. Install them (Debian/Ubuntu: sudo apt-get install ${packages.join(" ")}) and run again.`
}

/** The first line a tool prints about its version (for the machine info). */
export function toolVersion(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5_000 })
  const text = `${r.stdout ?? ""}\n${r.stderr ?? ""}`
  return text.split("\n").map((l) => l.trim()).find((l) => /\d+\.\d+/.test(l)) ?? null
}
