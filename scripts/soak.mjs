#!/usr/bin/env node
// `npm run soak -- --minutes N`: mixed traffic (a bulk stream, many short connections, idle holders)
// through the compiled tunnel (dist/backhaul) for each transport, sampling both tunnel processes' RSS,
// fds and CPU and the traffic every few seconds. After the warm-up, least-squares slopes of RSS, fds and
// throughput must be flat, and no byte, connection, holder or session may be lost; the exit code says
// whether they were (1, naming the failed slope or count). Samples go to bench-results/soak-*.json.
// Every process it starts is stopped, also on error and Ctrl-C. See docs/reliability.md ("Soak").
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { availableParallelism } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { machineInfo } from "./bench/machine.mjs"
import * as procs from "./bench/procs.mjs"
import * as tunnel from "./bench/tunnel.mjs"
import * as cli from "./soak/cli.mjs"
import * as report from "./soak/report.mjs"
import { soak } from "./soak/run.mjs"
import { judge, LIMITS } from "./soak/verdict.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const binary = join(root, "dist", "backhaul")

let args
try {
  args = cli.parse(process.argv.slice(2))
} catch (e) {
  console.error(`soak: ${e.message}\n\n${cli.USAGE}`)
  process.exit(2)
}
if (args.help) {
  console.log(cli.USAGE)
  process.exit(0)
}

let cleaning = false
const cleanup = async () => {
  if (cleaning) return
  cleaning = true
  await procs.shutdown()
  tunnel.removeConfigDir()
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, async () => {
    console.error(`\nsoak: ${signal}, stopping every process started`)
    await cleanup()
    process.exit(130)
  })
}
process.on("exit", procs.killAllNow)
const die = async (message, code = 1) => {
  console.error(message)
  await cleanup()
  process.exit(code)
}

/** Newest modification time under `dir`, to warn about a stale binary. */
const newestSource = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = join(dir, e.name)
    return Math.max(t, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs)
  }, 0)

async function main() {
  if (!existsSync(binary)) {
    console.error("soak: dist/backhaul is missing; building it (node scripts/build.mjs)")
    const r = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" })
    if (r.status !== 0 || !existsSync(binary)) return die("soak: build failed; run `npm run build` and try again")
  } else if (newestSource(join(root, "src")) > statSync(binary).mtimeMs) {
    console.error("soak: warning: dist/backhaul is older than src/; run `node scripts/build.mjs` to soak the current code")
  }
  // a private copy: a rebuild during a long run cannot swap the binary under it
  const measured = tunnel.snapshot(binary)
  for (const t of args.transports) {
    const probe = tunnel.implemented(measured, t)
    if (!probe.ok) return die(`soak: dist/backhaul does not run transport ${t}: ${probe.detail}`, 2)
  }
  let extra
  try {
    extra = tunnel.parseSets(args.sets)
  } catch (e) {
    return die(`soak: ${e.message}`, 2)
  }

  const started = new Date()
  const stamp = started.toISOString().replace(/[:.]/g, "-").slice(0, 19)
  const cores = availableParallelism()
  const shared = args.parallel && args.transports.length > 1
  const total = args.parallel ? args.seconds : args.seconds * args.transports.length
  console.error(
    `soak: ${args.transports.join(", ")} ${args.parallel ? "at once" : "one after another"}, ${args.minutes} min each ` +
      `(~${(total / 60).toFixed(1)} min of load), samples every ${args.intervalS} s, slopes after ${args.warmupS} s of warm-up; ` +
      `per transport: bulk ${args.load.bulkBytesPerSecond ? `${args.load.bulkBytesPerSecond / 2 ** 20} MiB/s` : "unbounded"}, ` +
      `${args.load.connsPerSecond} short conn/s, ${args.load.holders} holders; ${cores} cores`
  )
  if (shared) console.error(`soak: ${args.transports.length} transports share ${cores} cores: throughput and CPU figures are shared, not each transport's own`)

  const one = (transport) =>
    soak({
      binary: measured,
      transport,
      seconds: args.seconds,
      intervalS: args.intervalS,
      load: args.load,
      extra,
      onSample: (s) => console.error(report.progressLine(transport, s))
    })
  let results
  if (args.parallel) results = await Promise.all(args.transports.map(one))
  else {
    results = []
    for (const t of args.transports) results.push(await one(t))
  }

  const machine = machineInfo(root, binary, measured, procs.childFdLimit)
  const rows = results.map((result) => ({ transport: result.transport, result, verdict: judge(result, args) }))
  const paths = rows.map(({ transport, result, verdict }) =>
    report.write(resolve(root, args.out), stamp, transport, {
      transport,
      started: started.toISOString(),
      minutes: args.minutes,
      intervalS: args.intervalS,
      warmupS: args.warmupS,
      parallel: args.parallel,
      sharedWith: shared ? args.transports.filter((t) => t !== transport) : [],
      load: args.load,
      settings: { token: "bench", connection_pool: 8, log_level: "info", extra },
      limits: LIMITS,
      machine,
      verdict,
      before: result.before,
      after: result.after,
      final: result.final,
      logs: result.logs,
      shutdown: result.shutdown,
      error: result.error,
      samples: result.samples
    }))

  console.log(`\nSoak: ${args.minutes} min per transport${args.parallel ? ", all at once" : ""}; means and slopes over the samples after ${args.warmupS} s of warm-up`)
  if (shared) console.log(`(parallel: the ${args.transports.length} transports shared ${cores} cores; throughput and CPU are shares of one machine)`)
  console.log("")
  console.log(report.table(rows))
  const failed = report.failures(rows)
  for (const { transport, result } of rows) {
    for (const log of result.logs) {
      if (log.problems) console.log(`\n${transport} ${log.side} logged ${log.problems} line(s) at WARN or worse, e.g.:\n${log.distinct.slice(0, 3).map((l) => `  ${l}`).join("\n")}`)
    }
  }
  const notes = rows.flatMap(({ transport, verdict }) => verdict.notes.map((n) => `${transport}: ${n}`))
  if (notes.length) console.log(`\nNotes:\n${notes.map((n) => `  - ${n}`).join("\n")}`)
  console.log(`\nJSON: ${paths.join("\n      ")}`)
  if (failed.length) {
    console.log(`\nFAILED (${failed.length}):\n${failed.map((f) => `  - ${f}`).join("\n")}`)
  } else console.log("\nEvery transport flat: RSS, fds and throughput after the warm-up; 0 bytes lost, 0 errors, 0 reconnects.")
  await cleanup()
  process.exit(failed.length ? 1 : 0)
}

main().catch(async (e) => die(`soak: ${e.stack ?? e}`))
