// A backhaul tunnel on loopback — one server and one client process of the compiled binary — for one
// transport. The transport is nothing but the `transport` key of both configs: adding a transport to the
// benchmark needs no change here.
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, HOST } from "./net.mjs"
import * as procs from "./procs.mjs"

/** Every transport name the config grammar knows, in the order the benchmark runs them. */
export const KNOWN_TRANSPORTS = ["tcp", "tcpmux", "ws", "wss", "wsmux", "wssmux", "udp"]
/** What `--transport` defaults to before asking the binary which are implemented. */
export const DEFAULT_CANDIDATES = ["tcp", "tcpmux", "ws"]

// configs and the binary snapshot live in a temp dir made on first use and removed at the end
let made
const dir = () => (made ??= mkdtempSync(join(tmpdir(), "backhaul-bench-")))
export const removeConfigDir = () => made && rmSync(made, { recursive: true, force: true })
let serial = 0

/** A private copy of the binary, so that a rebuild during the run cannot mix two builds in one result. */
export function snapshot(binary) {
  const copy = join(dir(), "backhaul")
  copyFileSync(binary, copy)
  return copy
}

const literal = (v) =>
  typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(literal).join(", ")}]` : String(v)

/**
 * Writes a config file and returns its path. `raw` maps keys to TOML literals (from `--set`) that
 * replace or add to `entries`.
 */
function writeConfig(section, entries, raw = {}) {
  const path = join(dir(), `${section}-${++serial}.toml`)
  const lines = { ...Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, literal(v)])), ...raw }
  writeFileSync(path, `[${section}]\n` + Object.entries(lines).map(([k, v]) => `${k} = ${v}\n`).join(""))
  return path
}

/** The settings both sides get (`--set` can override any of them). */
const common = (transport) => ({ transport, token: "bench", log_level: "info" })

/** Whether this binary implements `transport` (`backhaul check` on a server config using it). */
export function implemented(binary, transport) {
  const path = writeConfig("server", { ...common(transport), bind_addr: `${HOST}:1`, ports: [] })
  const r = spawnSync(binary, ["check", "-c", path], { encoding: "utf8", timeout: 10_000 })
  return { ok: r.status === 0, detail: (r.stderr || r.stdout || "").trim().split("\n")[0] }
}

/**
 * Starts server then client. `ports` are server `ports` entries ("127.0.0.1:U=127.0.0.1:T").
 * Resolves once the client's session is up, with spawn-to-ready timings.
 */
export async function start({ binary, transport, ports, extra = { server: {}, client: {} }, pool = 8 }) {
  const tunnelPort = await freePort()
  const serverConfig = writeConfig(
    "server",
    { ...common(transport), bind_addr: `${HOST}:${tunnelPort}`, connection_pool: pool, ports },
    extra.server
  )
  const clientConfig = writeConfig("client", { ...common(transport), remote_addr: `${HOST}:${tunnelPort}` }, extra.client)
  const t0 = performance.now()
  const server = procs.start(`backhaul server (${transport})`, binary, ["-c", serverConfig])
  const tunnel = { transport, tunnelPort, server, client: undefined, timings: {}, stop: () => stop(tunnel) }
  try {
    await server.waitFor(/tunnel listening on/, 10_000)
    tunnel.timings.serverListeningMs = performance.now() - t0
    await server.waitFor(/user ports: /, 10_000)
    const t1 = performance.now()
    tunnel.client = procs.start(`backhaul client (${transport})`, binary, ["-c", clientConfig])
    await tunnel.client.waitFor(/connected to /, 10_000)
    tunnel.timings.clientConnectedMs = performance.now() - t1
    tunnel.timings.clientSpawnedAt = t1
  } catch (e) {
    await stop(tunnel)
    throw e
  }
  return tunnel
}

/** Lines at warning level or worse that a tunnel process logged (what went wrong during a run). */
export const problems = (handle) => (handle?.lines ?? []).filter((l) => /level=(WARN|ERROR|FATAL)/.test(l))

/** How long a tunnel process may take to exit on SIGTERM before it is killed (and that is reported). */
const STOP_MS = 15_000

/** Stops client then server; returns their exit codes (0 = clean exit on SIGTERM) and how long each took. */
async function stop(tunnel) {
  // taken before stopping: the server warns about the session the client's shutdown ends
  const logged = [...problems(tunnel.server), ...problems(tunnel.client)]
  const timed = async (handle) => {
    const t0 = performance.now()
    const code = handle ? await handle.stop(STOP_MS) : undefined
    return [code, performance.now() - t0]
  }
  const [client, clientStopMs] = await timed(tunnel.client)
  const [server, serverStopMs] = await timed(tunnel.server)
  return { client, server, clientStopMs, serverStopMs, problems: logged }
}

/** The user-port entry mapping `userPort` to `targetPort`. */
export const mapping = (userPort, targetPort) => `${HOST}:${userPort}=${HOST}:${targetPort}`

/** Raw `--set` values split by side: "server.k=v", "client.k=v", or "k=v" for both. */
export function parseSets(sets) {
  const extra = { server: {}, client: {} }
  for (const s of sets) {
    const m = /^(?:(server|client)\.)?([a-z_]+)=(.+)$/.exec(s)
    if (!m) throw new Error(`--set ${s}: expected [server.|client.]key=toml-value`)
    for (const side of m[1] ? [m[1]] : ["server", "client"]) extra[side][m[2]] = m[3]
  }
  return extra
}
