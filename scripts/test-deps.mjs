#!/usr/bin/env node
// `npm test` step 1: the system tools the tests use besides Node — nginx with its stream module (the
// WebSocket transports are tested through a real reverse proxy) and openssl (self-signed certificates).
// Missing ones are installed with apt-get when this runs as root on a Debian-like system; otherwise it
// stops with the command to run. The tests never skip for want of a tool.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0
const streamModule = () =>
  ["/usr/lib/nginx/modules/ngx_stream_module.so", "/usr/lib64/nginx/modules/ngx_stream_module.so"].some(existsSync)

const missing = () => [
  ...(has("nginx") ? [] : ["nginx"]),
  ...(has("nginx") && streamModule() ? [] : ["libnginx-mod-stream"]),
  ...(has("openssl") ? [] : ["openssl"])
]

let need = missing()
if (need.length > 0 && process.getuid?.() === 0 && has("apt-get")) {
  console.log(`test tools: installing ${need.join(", ")} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env })
  spawnSync("apt-get", ["install", "-y", "-qq", ...need], { stdio: "inherit", env })
  need = missing()
}
if (need.length > 0) {
  console.error(`test tools missing: ${need.join(", ")}. Install them (Debian/Ubuntu: sudo apt-get install -y ${need.join(" ")}) and run npm test again.`)
  process.exit(1)
}
