// A backhaul tunnel on loopback — one server and one client process of the compiled binary — for one
// transport. The transport is the `transport` key of both configs plus what it needs to run at all (TLS
// files for wss and wssmux, made here): the sections only name the transport, and adding one to the
// benchmark needs no change there.
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, HOST } from "./net.mjs"
import * as procs from "./procs.mjs"

/** Every transport name the config grammar knows, in the order the benchmark runs them. */
export const KNOWN_TRANSPORTS = ["tcp", "tcpmux", "ws", "wss", "wsmux", "wssmux", "udp"]
/** What `--transport` defaults to before asking the binary which are implemented: every stream transport. */
export const DEFAULT_CANDIDATES = ["tcp", "tcpmux", "ws", "wsmux", "wss", "wssmux"]
/** Transports that run TLS under the WebSocket: the server needs a certificate, the client a CA to check it. */
export const SECURE = ["wss", "wssmux"]

// configs, the TLS pair and the binary snapshot live in a temp dir made on first use and removed at the end
let made
let pair
const dir = () => (made ??= mkdtempSync(join(tmpdir(), "backhaul-bench-")))
export const removeConfigDir = () => {
  if (made) rmSync(made, { recursive: true, force: true })
  made = pair = undefined
}
let serial = 0

/**
 * A self-signed certificate for localhost and 127.0.0.1 (HOST, the clients' remote_addr host) and its
 * key, made with openssl on first use, once per run. Throws when openssl cannot make it.
 */
export function selfSigned() {
  if (pair) return pair
  const cert = join(dir(), "cert.pem")
  const key = join(dir(), "key.pem")
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
    "-subj", "/CN=localhost", "-addext", `subjectAltName=DNS:localhost,IP:${HOST}`, "-keyout", key, "-out", cert]
  const r = spawnSync("openssl", args, { encoding: "utf8", timeout: 30_000 })
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout || "").trim().split("\n")[0]
    throw new Error(`openssl could not make a self-signed certificate (needed for ${SECURE.join(", ")}): ${why}`)
  }
  return (pair = { cert, key })
}

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

/**
 * The settings one side (`"server"` or `"client"`) gets for `transport` (`--set` can override any of
 * them): the common ones, and for wss/wssmux the server's certificate and key and, on the client, the
 * same certificate as its CA, so that it checks the server's certificate (no insecure skip: it warns at
 * every connect). Throws when the TLS pair cannot be made.
 */
export function settings(transport, side) {
  const common = { transport, token: "bench", log_level: "info" }
  if (!SECURE.includes(transport)) return common
  const { cert, key } = selfSigned()
  return side === "server" ? { ...common, tls_cert: cert, tls_key: key } : { ...common, tls_ca: cert }
}

/** Whether this binary implements `transport` (`backhaul check` on a server and a client config using it). */
export function implemented(binary, transport) {
  let configs
  try {
    configs = [
      writeConfig("server", { ...settings(transport, "server"), bind_addr: `${HOST}:1`, ports: [] }),
      writeConfig("client", { ...settings(transport, "client"), remote_addr: `${HOST}:1` })
    ]
  } catch (e) {
    return { ok: false, detail: e.message }
  }
  for (const path of configs) {
    const r = spawnSync(binary, ["check", "-c", path], { encoding: "utf8", timeout: 10_000 })
    if (r.status !== 0) return { ok: false, detail: (r.stderr || r.stdout || "").trim().split("\n")[0] }
  }
  return { ok: true, detail: "" }
}

/**
 * Starts server then client. `ports` are server `ports` entries ("127.0.0.1:U=127.0.0.1:T").
 * Resolves once the client's session is up, with spawn-to-ready timings.
 */
export async function start({ binary, transport, ports, extra = { server: {}, client: {} }, pool = 8 }) {
  const tunnelPort = await freePort()
  const serverConfig = writeConfig(
    "server",
    { ...settings(transport, "server"), bind_addr: `${HOST}:${tunnelPort}`, connection_pool: pool, ports },
    extra.server
  )
  const clientConfig = writeConfig("client", { ...settings(transport, "client"), remote_addr: `${HOST}:${tunnelPort}` }, extra.client)
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
