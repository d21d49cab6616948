/**
 * The command line as a user meets it, run from source as real processes (issue 13, A9 and A10's config
 * messages): global options anywhere, log levels that do what they say, missing values named, no hang
 * without a terminal, help without colour codes or filler, completions a shell can use, `check` on a file
 * with both roles, and config errors that name the key and line and never show the token.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import { join } from "node:path"
import { freePort } from "../../src/net/FreePort.ts"
import * as Processes from "../helpers/Processes.ts"
import * as Bash from "./Bash.ts"
import * as RunCli from "./RunCli.ts"

const root = join(import.meta.dirname, "..", "..")
const ESC = "\u001b"
// tsx start-up alone takes seconds on a loaded 2-core machine; several runs per test
const timeout = 240_000

/** The CLI from source as a long-running process (merged output), killed when the scope closes. */
const startCli = (args: ReadonlyArray<string>) =>
  Processes.start(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], root)

const run = (args: ReadonlyArray<string>, options?: RunCli.RunOptions) => Effect.promise(() => RunCli.run(args, options))

/** Resolves once `port` accepts a connection (the server is up), failing after `attempts` tries 250 ms apart. */
const accepting = (port: number, attempts = 160) =>
  Effect.async<void, Error>((resume) => {
    let left = attempts
    let timer: NodeJS.Timeout | undefined
    const attempt = () => {
      const socket = net.connect({ host: "127.0.0.1", port })
      socket.once("connect", () => {
        socket.destroy()
        resume(Effect.void)
      })
      socket.once("error", () => {
        socket.destroy()
        if (--left <= 0) resume(Effect.fail(new Error(`nothing accepted on ${port}`)))
        else timer = setTimeout(attempt, 250)
      })
    }
    attempt()
    return Effect.sync(() => clearTimeout(timer))
  })

/** A server config on a free loopback port with `log_level`; no user ports (nothing else to bind). */
const serverConfig = (logLevel: string) =>
  Effect.map(freePort(), (port) => {
    const dir = Processes.tempFiles({
      "server.toml": `[server]\nbind_addr = "127.0.0.1:${port}"\ntoken = "cli-test"\nlog_level = "${logLevel}"\nports = []\n`
    })
    return { port, path: join(dir, "server.toml") }
  })

const isJson = (line: string): boolean => {
  try {
    return typeof JSON.parse(line) === "object"
  } catch {
    return false
  }
}

const logLines = (output: string) => output.split("\n").filter((l) => l.trim() !== "")

describe("global options after -c (service path)", () => {
  it.scopedLive("-c FILE --log-level info --log-format json: the command line wins over the file's log_level", () =>
    Effect.gen(function*() {
      const { path } = yield* serverConfig("error")
      const proc = yield* startCli(["-c", path, "--log-level", "info", "--log-format", "json"])
      // "tunnel listening" is an info line: shown only if --log-level beats log_level = "error"
      yield* proc.waitFor(/tunnel listening/, 45_000)
      yield* proc.stop("SIGTERM")
      const lines = logLines(proc.output())
      assert.isAbove(lines.length, 0)
      const levels = lines.map((line) => (JSON.parse(line) as { logLevel?: string }).logLevel)
      assert.include(levels, "INFO")
    }), timeout)

  it.scopedLive("server -c FILE --log-level none: not one log line, though the file says debug", () =>
    Effect.gen(function*() {
      const { path, port } = yield* serverConfig("debug")
      const proc = yield* startCli(["server", "-c", path, "--log-level", "none"])
      yield* accepting(port).pipe(
        Effect.mapError((e) => new Error(`${e.message}; output:\n${proc.output()}`))
      )
      // junk on the tunnel port would be a refused handshake in the log at any other level
      yield* Effect.async<void>((resume) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => socket.end("GET / HTTP/1.1\r\n\r\n"))
        socket.on("error", () => {})
        socket.once("close", () => resume(Effect.void))
        socket.resume()
      })
      yield* proc.stop("SIGTERM")
      assert.strictEqual(proc.output(), "")
    }), timeout)
})

describe("bad command lines are named", () => {
  it.live("-c without a path, unknown and trace levels, check with log options", () =>
    Effect.gen(function*() {
      const { path } = yield* serverConfig("info")
      const [noPath, noPathCheck, trace, verbose, checkLog] = yield* Effect.all([
        run(["-c"]),
        run(["check", "-c"]),
        run(["-c", path, "--log-level", "trace"]),
        run(["-c", path, "--log-level=verbose"]),
        run(["check", "-c", path, "--log-format", "json"])
      ], { concurrency: 2 })
      for (const r of [noPath, noPathCheck]) {
        assert.strictEqual(r.code, 2, r.stderr)
        assert.include(r.stderr, "-c needs a config file path")
        assert.notInclude(r.stderr, "Invalid subcommand")
      }
      assert.strictEqual(trace.code, 2, trace.stderr)
      assert.include(trace.stderr, "nothing is logged below debug")
      assert.strictEqual(verbose.code, 2, verbose.stderr)
      assert.include(verbose.stderr, "none, error, warn, info, debug")
      assert.strictEqual(checkLog.code, 2, checkLog.stderr)
      assert.include(checkLog.stderr, "--log-format")
    }), timeout)

  it.live("--wizard with stdin closed exits at once with a clear message", () =>
    Effect.gen(function*() {
      const r = yield* run(["--wizard"], { timeoutMs: 45_000 })
      assert.isFalse(r.timedOut, "the wizard waited for input that cannot come")
      assert.strictEqual(r.code, 2)
      assert.include(r.stderr, "--wizard needs an interactive terminal")
    }), timeout)
})

describe("demo", () => {
  it.live("demo --log-format json logs JSON lines", () =>
    Effect.gen(function*() {
      const r = yield* run(["demo", "--log-format", "json"], { timeoutMs: 90_000 })
      assert.strictEqual(r.code, 0, r.stderr)
      assert.include(r.stdout, "equal")
      const lines = logLines(r.stderr)
      assert.isAbove(lines.length, 0)
      for (const line of lines) assert.isTrue(isJson(line), line)
    }), timeout)
})

describe("help and completions", () => {
  it.live("--help piped, with and without NO_COLOR: no escape codes, no filler, every option described", () =>
    Effect.gen(function*() {
      const [plain, noColor, server, missing] = yield* Effect.all([
        run(["--help"], { env: { NO_COLOR: undefined } }),
        run(["--help"], { env: { NO_COLOR: "1" } }),
        run(["server", "--help"], { env: { NO_COLOR: undefined } }),
        // an error @effect/cli still prints itself
        run(["demo", "--", "stray"], { env: { NO_COLOR: undefined } })
      ], { concurrency: 2 })
      for (const r of [plain, noColor, server]) {
        assert.strictEqual(r.code, 0, r.stderr)
        assert.notInclude(r.stdout, ESC)
        assert.notInclude(r.stdout, "A user-defined piece of text")
        assert.notInclude(r.stdout, "A true or false value")
      }
      for (const word of ["server", "client", "check", "demo", "--config", "--log-level", "--log-format", "--role", "--hold", "--completions", "--wizard", "--version"]) {
        assert.include(plain.stdout, word)
      }
      assert.include(plain.stdout, "none, error, warn, info, debug")
      assert.include(server.stdout, "--config")
      assert.strictEqual(missing.code, 2)
      assert.notInclude(missing.stderr, ESC)
    }), timeout)

  it.live("bash completion offers each choice as its own word", () =>
    Effect.gen(function*() {
      const script = yield* run(["--completions", "bash"])
      assert.strictEqual(script.code, 0, script.stderr)
      const complete = (words: ReadonlyArray<string>) => Bash.complete(script.stdout, words)
      assert.deepStrictEqual(complete(["backhaul", "--log-format", ""]), ["json", "logfmt"])
      assert.deepStrictEqual(complete(["backhaul", "server", "-c", "f", "--log-format", ""]), ["json", "logfmt"])
      assert.deepStrictEqual(complete(["backhaul", "--log-level", ""]), ["debug", "error", "info", "none", "warn"])
      assert.deepStrictEqual(complete(["backhaul", "check", "--role", ""]), ["client", "server"])
      assert.includeMembers(complete(["backhaul", ""]), ["check", "client", "demo", "server"])
    }), timeout)
})

describe("check", () => {
  it.live("a file with both sections: --role picks one, and the error says how", () =>
    Effect.gen(function*() {
      const dir = Processes.tempFiles({
        "both.toml": [
          "[server]",
          "bind_addr = \"0.0.0.0:3080\"",
          "token = \"both-secret\"",
          "ports = [\"4000=5201\"]",
          "[client]",
          "remote_addr = \"203.0.113.7:3080\"",
          "token = \"both-secret\""
        ].join("\n"),
        "udp.toml": "[server]\nbind_addr = \"0.0.0.0:3080\"\ntransport = \"udp\"\nports = []\n",
        "number.toml": "[server]\nbind_addr = \"0.0.0.0:3080\"\ntoken = 12345678\nports = []\n"
      })
      const file = join(dir, "both.toml")
      const [unpicked, server, client, udp, number] = yield* Effect.all([
        run(["check", "-c", file]),
        run(["check", "--role", "server", "-c", file]),
        run(["check", "-c", file, "--role=client"]),
        run(["check", "-c", join(dir, "udp.toml")]),
        run(["check", "-c", join(dir, "number.toml")])
      ], { concurrency: 2 })
      assert.strictEqual(unpicked.code, 1)
      assert.include(unpicked.stderr, "--role server")
      assert.strictEqual(server.code, 0, server.stderr)
      assert.include(server.stdout, "role: server")
      assert.strictEqual(client.code, 0, client.stderr)
      assert.include(client.stdout, "role: client")
      for (const r of [unpicked, server, client]) assert.notInclude(r.stdout + r.stderr, "both-secret")
      assert.strictEqual(udp.code, 1)
      assert.include(udp.stderr, "server.transport (line 3)")
      assert.strictEqual(number.code, 1)
      assert.include(number.stderr, "server.token (line 3)")
      assert.notInclude(number.stderr, "12345678")
    }), timeout)
})
