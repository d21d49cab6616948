/**
 * A real nginx (the distribution's binary) in front of a tunnel, for the life of a scope: a config in a
 * temp dir (pid, logs and temp paths inside it), nginx in the foreground as a child of the test, waited
 * for until its port accepts connections, and stopped (master and workers) when the scope closes.
 *
 * nginx is required, not optional: when the binary or its stream module is missing, `start` fails with
 * how to install them (CI installs them, see `.ci/run`).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../src/net/FreePort.ts"
import type { CertPair } from "./Certs.ts"

const INSTALL = "install it with `apt-get install -y nginx libnginx-mod-stream` (Debian; .ci/run does this)"

/** The nginx binary: on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
const binary = (): string => {
  for (const candidate of ["nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"]) {
    try {
      execFileSync(candidate, ["-v"], { stdio: "ignore" })
      return candidate
    } catch {
      // next
    }
  }
  throw new Error(`nginx is required by these tests and was not found: ${INSTALL}`)
}

/** `nginx -V`: version and build options (it prints them on stderr). */
const buildInfo = (bin: string): string => {
  const r = spawnSync(bin, ["-V"], { encoding: "utf8" })
  return `${r.stdout ?? ""}${r.stderr ?? ""}`
}

/** The `load_module` line the stream module needs ("" when it is built in), or why there is none. */
const streamModule = (bin: string): string => {
  const info = buildInfo(bin)
  if (/--with-stream(\s|$)/.test(info)) return ""
  const dir = /--modules-path=(\S+)/.exec(info)?.[1] ?? "/usr/lib/nginx/modules"
  const candidates = [...new Set([join(dir, "ngx_stream_module.so"), "/usr/lib/nginx/modules/ngx_stream_module.so"])]
  const found = candidates.find((p) => existsSync(p))
  if (found === undefined) {
    throw new Error(`the nginx stream module (TLS passthrough) was not found at ${candidates.join(" or ")}: ${INSTALL}`)
  }
  return `load_module ${found};\n`
}

/** A running nginx. */
export interface Nginx {
  /** the port it proxies on */
  readonly port: number
  /** its stub_status port (http configs only) */
  readonly statusPort: number | undefined
  readonly dir: string
  /** its error log so far */
  readonly errorLog: () => string
  /** what it wrote on stdout/stderr so far */
  readonly output: () => string
  /** connections nginx has accepted so far (stub_status), and those open now, the status request included */
  readonly status: Effect.Effect<{ readonly accepts: number; readonly active: number }, Error>
}

/** What to put in the config. */
export interface Options {
  /** the inside of `http { }` (after the common lines), given nginx's port */
  readonly http?: (port: number) => string
  /** the inside of `stream { }`, given nginx's port; loads the stream module */
  readonly stream?: (port: number) => string
  /** error_log level: "warn" unless told ("info" shows nginx's own timeouts: "upstream timed out") */
  readonly errorLogLevel?: "debug" | "info" | "notice" | "warn" | "error"
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** An HTTP/1.0 GET on a connection of its own: the whole answer (status line, headers, body). */
export const get = (port: number, path: string): Effect.Effect<string, Error> =>
  Effect.async<string, Error>((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(`GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`))
    const chunks: Array<Buffer> = []
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("end", () => {
      socket.destroy()
      resume(Effect.succeed(Buffer.concat(chunks).toString("latin1")))
    })
    socket.on("error", (e) => resume(Effect.fail(e)))
    return Effect.sync(() => socket.destroy())
  })

/** Child pids of `pid` (nginx's workers), from /proc. */
const childrenOf = (pid: number): Array<number> => {
  const out: Array<number> = []
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
        // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
        if (ppid === pid) out.push(Number(entry))
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** Stops nginx: a fast shutdown (SIGTERM), then SIGKILL for master and workers if it lingers. */
const stop = (child: ChildProcess, closed: Promise<void>): Promise<void> => {
  if (exited(child)) return closed
  const workers = child.pid === undefined ? [] : childrenOf(child.pid)
  child.kill("SIGTERM")
  return Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000).unref())])
    .then((done) => {
      if (done) return
      for (const pid of workers) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          // already gone
        }
      }
      child.kill("SIGKILL")
      return closed
    })
}

/**
 * Starts nginx with `options` on a free 127.0.0.1 port (and a stub_status port for http configs) and
 * waits until it accepts connections; stops it and removes its dir when the scope closes.
 */
export const start = (options: Options): Effect.Effect<Nginx, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const bin = yield* Effect.try({ try: binary, catch: (e) => e as Error })
    const load = options.stream === undefined ? "" : yield* Effect.try({ try: () => streamModule(bin), catch: (e) => e as Error })
    const port = yield* freePort()
    const statusPort = options.http === undefined ? undefined : yield* freePort()
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "backhaul-nginx-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const root = process.getuid?.() === 0
    const conf = [
      load,
      // as root the workers would switch to nobody, who cannot read the temp dir
      root ? "user root;\n" : "",
      "worker_processes 1;\n",
      "daemon off;\n",
      "master_process on;\n",
      `pid ${dir}/nginx.pid;\n`,
      `error_log ${dir}/error.log ${options.errorLogLevel ?? "warn"};\n`,
      "events { worker_connections 4096; }\n",
      options.http === undefined ? "" : [
        "http {\n",
        `  access_log ${dir}/access.log;\n`,
        `  client_body_temp_path ${dir}/client_body;\n`,
        `  proxy_temp_path ${dir}/proxy;\n`,
        `  fastcgi_temp_path ${dir}/fastcgi;\n`,
        `  uwsgi_temp_path ${dir}/uwsgi;\n`,
        `  scgi_temp_path ${dir}/scgi;\n`,
        `  server { listen 127.0.0.1:${statusPort}; location / { stub_status; } }\n`,
        options.http(port),
        "\n}\n"
      ].join(""),
      options.stream === undefined ? "" : `stream {\n${options.stream(port)}\n}\n`
    ].join("")
    writeFileSync(join(dir, "nginx.conf"), conf)
    const errorLog = () => {
      try {
        return readFileSync(join(dir, "error.log"), "utf8")
      } catch {
        return ""
      }
    }

    let out = ""
    const { child } = yield* Effect.acquireRelease(
      Effect.sync(() => {
        // -e: the error log before the config is read (not /var/log/nginx, which may not be writable)
        const child = spawn(bin, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        child.stdout!.on("data", (c: Buffer) => (out += c.toString()))
        child.stderr!.on("data", (c: Buffer) => (out += c.toString()))
        child.on("error", (e) => (out += `spawn failed: ${e.message}\n`))
        const closed = new Promise<void>((resolve) => child.once("close", () => resolve()))
        return { child, closed }
      }),
      ({ child, closed }) => Effect.promise(() => stop(child, closed))
    )

    const ready = (p: number) =>
      Effect.gen(function*() {
        const until = Date.now() + 10_000
        while (Date.now() < until) {
          if (exited(child)) break
          if (yield* Effect.promise(() => accepts(p))) return
          yield* Effect.sleep(50)
        }
        return yield* Effect.fail(
          new Error(
            `nginx did not start listening on 127.0.0.1:${p}` +
              (exited(child) ? ` (it exited with ${child.exitCode ?? child.signalCode})` : "") +
              `\n--- output ---\n${out}\n--- error.log ---\n${errorLog()}\n--- nginx.conf ---\n${conf}`
          )
        )
      })
    yield* ready(port)
    if (statusPort !== undefined) yield* ready(statusPort)

    const status = Effect.gen(function*() {
      if (statusPort === undefined) return yield* Effect.fail(new Error("no stub_status: not an http config"))
      // HTTP/1.0 on a connection of its own (fetch would keep one open and reuse it): exactly one accept
      const text = yield* get(statusPort, "/")
      // Active connections: N \n server accepts handled requests \n A H R \n …
      const active = /Active connections:\s*(\d+)/.exec(text)
      const counts = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text)
      if (!active || !counts) return yield* Effect.fail(new Error(`unexpected stub_status answer: ${text}`))
      return { accepts: Number(counts[1]), active: Number(active[1]) }
    })

    return { port, statusPort, dir, errorLog, output: () => out, status } satisfies Nginx
  })

/** Settings of a WebSocket reverse proxy. */
export interface WebSocketProxy {
  /** the backhaul server's tunnel port */
  readonly backend: number
  /** the location proxied (the tunnel's `ws_path`) */
  readonly path: string
  /** terminate TLS with this pair */
  readonly tls?: CertPair | undefined
  /** proxy_read_timeout and proxy_send_timeout, seconds (nginx's default is 60) */
  readonly timeoutSeconds?: number | undefined
  /** a fixed X-Forwarded-For instead of `$proxy_add_x_forwarded_for` */
  readonly forwardedFor?: string | undefined
}

/** The http config of a WebSocket reverse proxy, as nginx's documentation writes it. */
export const webSocketProxy = (p: WebSocketProxy): Options => ({
  http: (port) =>
    [
      "  server {",
      `    listen 127.0.0.1:${port}${p.tls ? " ssl" : ""};`,
      "    server_name localhost;",
      p.tls ? `    ssl_certificate ${p.tls.cert};\n    ssl_certificate_key ${p.tls.key};` : "",
      `    location ${p.path} {`,
      `      proxy_pass http://127.0.0.1:${p.backend};`,
      "      proxy_http_version 1.1;",
      "      proxy_set_header Upgrade $http_upgrade;",
      "      proxy_set_header Connection \"upgrade\";",
      "      proxy_set_header Host $host;",
      `      proxy_set_header X-Forwarded-For ${p.forwardedFor === undefined ? "$proxy_add_x_forwarded_for" : `"${p.forwardedFor}"`};`,
      "      proxy_set_header X-Real-IP $remote_addr;",
      p.timeoutSeconds === undefined
        ? ""
        : `      proxy_read_timeout ${p.timeoutSeconds}s;\n      proxy_send_timeout ${p.timeoutSeconds}s;`,
      "    }",
      "  }"
    ].filter((l) => l !== "").join("\n")
})

/** The stream config that passes TCP (here: TLS) through to `backend` untouched. */
export const tcpPassthrough = (backend: number): Options => ({
  stream: (port) => `  server {\n    listen 127.0.0.1:${port};\n    proxy_pass 127.0.0.1:${backend};\n  }`
})
