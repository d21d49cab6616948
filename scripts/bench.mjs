#!/usr/bin/env node
// `npm run bench`: measures the compiled tunnel (dist/backhaul) with real processes on loopback — bulk
// throughput (iperf3), new-connection rate and latency (wrk), idle connections at scale (RSS), start-up —
// against baselines measured in the same run. Prints a table and writes JSON under bench-results/.
// It is a tool, not a test: a missed target is reported, never an error. It exits non-zero only when
// the harness itself failed (a tool missing, a connection that did not echo, a process that would not
// start). Every process it starts is stopped, also on error and Ctrl-C. See docs/benchmarks.md.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { bulk } from "./bench/bulk.mjs"
import * as cli from "./bench/cli.mjs"
import { http } from "./bench/http.mjs"
import { machineInfo } from "./bench/machine.mjs"
import * as procs from "./bench/procs.mjs"
import { render, Report, write } from "./bench/report.mjs"
import { scale } from "./bench/scale.mjs"
import { startup } from "./bench/startup.mjs"
import { ensureTools } from "./bench/tools.mjs"
import * as tunnel from "./bench/tunnel.mjs"

const SECTIONS = { bulk, http, scale, startup }
const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const binary = join(root, "dist", "backhaul")

let args
try {
  args = cli.parse(process.argv.slice(2))
} catch (e) {
  console.error(`bench: ${e.message}\n\n${cli.USAGE}`)
  process.exit(2)
}
if (args.help) {
  console.log(cli.USAGE)
  process.exit(0)
}

// cleanup on every way out
let cleaning = false
const cleanup = async () => {
  if (cleaning) return
  cleaning = true
  await procs.shutdown()
  tunnel.removeConfigDir()
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, async () => {
    console.error(`\nbench: ${signal}, stopping every process started`)
    await cleanup()
    process.exit(130)
  })
}
process.on("exit", procs.killAllNow)
const die = async (message) => {
  console.error(message)
  await cleanup()
  process.exit(1)
}

/** Newest modification time under src/, to warn about a stale binary. */
const newestSource = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = join(dir, e.name)
    return Math.max(t, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs)
  }, 0)

async function main() {
  if (!existsSync(binary)) {
    console.error("bench: dist/backhaul is missing; building it (node scripts/build.mjs)")
    const r = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" })
    if (r.status !== 0 || !existsSync(binary)) return die("bench: build failed; run `npm run build` and try again")
  } else if (newestSource(join(root, "src")) > statSync(binary).mtimeMs) {
    console.error("bench: warning: dist/backhaul is older than src/; run `npm run build` to measure the current code")
  }
  const toolProblem = ensureTools()
  if (toolProblem) return die(toolProblem)

  const measured = tunnel.snapshot(binary)
  const report = new Report()
  const skipped = {}
  const transports = []
  for (const t of args.transports ?? tunnel.DEFAULT_CANDIDATES) {
    const probe = tunnel.implemented(measured, t)
    if (probe.ok) transports.push(t)
    else skipped[t] = probe.detail
  }
  for (const [t, why] of Object.entries(skipped)) report.note(`transport ${t} skipped: ${why}`)
  if (transports.length === 0) return die("bench: none of the requested transports is implemented by dist/backhaul")

  const failures = []
  const ctx = {
    binary: measured,
    profile: args.profile,
    transports,
    extra: tunnel.parseSets(args.sets),
    report,
    fail: (message) => {
      if (procs.isShuttingDown()) return
      failures.push(message)
      console.error(`bench: HARNESS FAILURE: ${message}`)
    },
    noteShutdown: (t, { client, server, clientStopMs, serverStopMs, problems }, what = "") => {
      if (client !== 0 || server !== 0) report.note(`${t.transport}${what}: exit codes on SIGTERM: server ${server}, client ${client} (expected 0)`)
      const slow = Math.max(clientStopMs ?? 0, serverStopMs ?? 0)
      if (slow > 2_000) report.note(`${t.transport}${what}: slow exit on SIGTERM: client ${(clientStopMs / 1000).toFixed(1)} s, server ${(serverStopMs / 1000).toFixed(1)} s`)
      const distinct = [...new Set(problems.map((p) => p.replace(/^timestamp=\S+ /, "").replace(/ fiber=#\d+/, "")))]
      for (const p of distinct.slice(0, 5)) report.note(`${t.transport}${what} logged: ${p}`)
      if (distinct.length > 5) report.note(`${t.transport}${what}: ${distinct.length - 5} more distinct warnings (see the process logs)`)
    }
  }
  const started = new Date()
  const machine = machineInfo(root, binary, measured, procs.childFdLimit)
  console.error(`bench: ${args.mode} run of ${args.only.join(", ")} for ${transports.join(", ")} on ${machine.cores} cores, ${machine.kernel}`)

  const raw = {}
  for (const name of args.only) {
    const t0 = performance.now()
    try {
      raw[name] = await SECTIONS[name](ctx)
    } catch (e) {
      ctx.fail(`${name}: ${e.message}`)
    } finally {
      await procs.stopAll()
    }
    console.error(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  }

  console.log(render(report))
  const stamp = started.toISOString().replace(/[:.]/g, "-").slice(0, 19)
  const path = write(resolve(root, args.out), stamp, args.mode, report, {
    started: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    mode: args.mode,
    profile: args.profile,
    transports,
    skipped,
    settings: { token: "bench", connection_pool: 8, log_level: "info", extra: ctx.extra },
    machine,
    failures,
    raw
  })
  console.log(`\nJSON: ${path}`)
  if (failures.length) console.error(`bench: the harness failed ${failures.length} time(s):\n${failures.map((f) => `  - ${f}`).join("\n")}`)
  await cleanup()
  process.exit(failures.length ? 1 : 0)
}

main().catch(async (e) => die(`bench: ${e.stack ?? e}`))
