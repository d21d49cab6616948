// Start-up: from spawning the client (server already listening) to its session being up, and to the
// first byte echoed through the tunnel. Baseline: the same binary printing --version (runtime start-up).
import { fileURLToPath } from "node:url"
import { echoUntil, freePorts } from "./net.mjs"
import * as procs from "./procs.mjs"
import { median } from "./stats.mjs"
import * as tunnel from "./tunnel.mjs"

async function versionMs(binary, runs) {
  const times = []
  for (let i = 0; i < Math.max(3, runs); i++) {
    const r = await procs.run("backhaul --version", binary, ["--version"], 10_000)
    if (r.code === 0) times.push(r.ms)
  }
  return times
}

export async function startup(ctx) {
  const { profile, report } = ctx
  const version = await versionMs(ctx.binary, profile.startupRuns)
  report.baseline({ name: "backhaul --version", metric: "process start to exit", unit: "ms", value: median(version), digits: 0, runs: version })
  const script = fileURLToPath(new URL("./children/echo-server.mjs", import.meta.url))
  const raw = { versionMs: version }
  for (const transport of ctx.transports) {
    const runs = []
    for (let i = 0; i < profile.startupRuns; i++) {
      const [echoPort, userPort] = await freePorts(2)
      const echo = procs.start("echo target", process.execPath, [script, String(echoPort)], { stdin: "pipe" })
      await echo.waitFor(/^listening/, 5_000)
      const t = await tunnel.start({ binary: ctx.binary, transport, ports: [tunnel.mapping(userPort, echoPort)], extra: ctx.extra })
      const probe = await echoUntil(userPort, 10_000)
      const firstEchoMs = probe === null ? NaN : performance.now() - t.timings.clientSpawnedAt
      if (probe === null) ctx.fail(`${transport} start-up: no echo through the tunnel within 10 s`)
      runs.push({ serverListeningMs: t.timings.serverListeningMs, clientConnectedMs: t.timings.clientConnectedMs, firstEchoMs })
      ctx.noteShutdown(t, await t.stop())
      await echo.stop()
    }
    raw[transport] = runs
    const med = (key) => median(runs.map((r) => r[key]))
    console.error(`bench: ${transport} start-up: session ready after ${med("clientConnectedMs").toFixed(0)} ms`)
    const row = { transport, section: "startup", unit: "ms", baseline: median(version), baselineName: "--version", digits: 0, runs }
    report.add({ ...row, metric: "start-up: client spawn to session ready", tunnel: med("clientConnectedMs") })
    report.add({ ...row, metric: "start-up: server spawn to listening", tunnel: med("serverListeningMs") })
    report.add({ ...row, metric: "start-up: client spawn to first echo", tunnel: med("firstEchoMs") })
  }
  return raw
}
