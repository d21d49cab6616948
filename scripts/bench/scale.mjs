// Scale: N idle connections through a fresh tunnel per N. Idle RSS first (session up, no traffic yet),
// then an opener process (its own fd limit) opens N connections to an echo target (its own process),
// checks that every one echoes, and holds them; RSS of server and client is read after a quiet period.
// Every connection costs ~2 fds in each tunnel process, so N is capped by the hard fd limit.
import { fileURLToPath } from "node:url"
import { freePorts } from "./net.mjs"
import * as procs from "./procs.mjs"
import { rssPerConnAt10k } from "./targets.mjs"
import * as tunnel from "./tunnel.mjs"

const FD_RESERVE = 256 // listeners, pool channels, runtime fds
const OPEN_CONCURRENCY = 256 // connections being set up at once (well under the hub's channel_size)
const PER_CONN_MS = 15_000
const MB = (kib) => (kib * 1024) / 1e6

const child = (name) => fileURLToPath(new URL(`./children/${name}`, import.meta.url))

/** The N this machine's fd limit allows, and why it is smaller than asked if it is. */
function feasible(n) {
  const max = Math.floor((procs.hardFdLimit - FD_RESERVE) / 2 / 100) * 100
  return n <= max ? { n } : { n: max, why: `hard fd limit ${procs.hardFdLimit} allows ~${max} connections through one tunnel process (2 fds each), not ${n}` }
}

const jsonLine = async (handle, event, ms) => JSON.parse(await handle.waitFor(new RegExp(`"event":"${event}"`), ms))

/** Idle and loaded memory of one tunnel holding `n` connections. */
async function measure(ctx, transport, n) {
  const { profile } = ctx
  const [echoPort, userPort] = await freePorts(2)
  const echo = procs.start("echo target", process.execPath, [child("echo-server.mjs"), String(echoPort)], { stdin: "pipe" })
  await echo.waitFor(/^listening/, 5_000)
  const t = await tunnel.start({ binary: ctx.binary, transport, ports: [tunnel.mapping(userPort, echoPort)], extra: ctx.extra })
  const result = { n }
  try {
    await procs.sleep(profile.settleMs)
    result.idle = { server: procs.memory(t.server.pid), client: procs.memory(t.client.pid) }
    result.idleFds = { server: procs.fdCount(t.server.pid), client: procs.fdCount(t.client.pid) }

    const totalMs = 30_000 + n * 10
    const args = [child("opener.mjs"), userPort, n, OPEN_CONCURRENCY, PER_CONN_MS, totalMs].map(String)
    const opener = procs.start("connection opener", process.execPath, args, { stdin: "pipe" })
    result.opened = await jsonLine(opener, "opened", totalMs + 15_000)
    console.error(`bench: ${transport} scale ${n}: ${result.opened.ok} echoed, ${result.opened.failed} failed, in ${result.opened.ms} ms`)
    if (result.opened.failed > 0) ctx.fail(`${transport}: ${result.opened.failed} of ${n} connections through the tunnel did not echo: ${JSON.stringify(result.opened.errors)}`)

    await procs.sleep(profile.settleMs)
    result.loaded = {
      server: procs.memory(t.server.pid),
      client: procs.memory(t.client.pid),
      echoTarget: procs.memory(echo.pid),
      opener: procs.memory(opener.pid)
    }
    result.loadedFds = { server: procs.fdCount(t.server.pid), client: procs.fdCount(t.client.pid) }
    opener.child.stdin.write("check\n")
    result.checked = await jsonLine(opener, "checked", totalMs + 15_000)
    if (result.checked.failed > 0 || result.checked.dropped > 0) {
      ctx.fail(`${transport}: after holding ${n} connections, ${result.checked.failed} did not echo again and ${result.checked.dropped} had been closed`)
    }
    opener.child.stdin.write("close\n")
    await Promise.race([opener.exited, procs.sleep(5_000)])
    await opener.stop()
  } finally {
    result.shutdown = await t.stop()
    ctx.noteShutdown(t, result.shutdown, ` after holding ${n} connections`)
    await echo.stop()
  }
  return result
}

export async function scale(ctx) {
  const { report } = ctx
  const raw = {}
  for (const transport of ctx.transports) {
    raw[transport] = []
    for (const [i, asked] of ctx.profile.scaleCounts.entries()) {
      const { n, why } = feasible(asked)
      if (why) report.note(`${transport} scale: measured ${n.toLocaleString("en-US")} connections instead of ${asked.toLocaleString("en-US")}: ${why}`)
      let r
      try {
        r = await measure(ctx, transport, n)
      } catch (e) {
        ctx.fail(`${transport} scale ${n}: ${e.message}`)
        continue
      }
      raw[transport].push({ asked, ...r })
      const row = { transport, section: "scale" }
      if (i === 0) {
        for (const side of ["server", "client"]) {
          const m = r.idle[side]
          report.add({ ...row, metric: `idle RSS, ${side}`, unit: "MB", tunnel: MB(m.rssKiB), target: "idleRss", digits: 1 })
          report.note(`${transport} idle ${side}: VmRSS ${MB(m.rssKiB).toFixed(1)} MB = ${MB(m.anonKiB).toFixed(1)} MB anon + ${MB(m.fileKiB).toFixed(1)} MB file-backed (the mapped binary, shared between processes), ${r.idleFds[side]} fds`)
        }
      }
      if (!r.loaded) continue
      const label = `${n.toLocaleString("en-US")} idle conns`
      for (const side of ["server", "client"]) {
        report.add({ ...row, metric: `${label}: RSS, ${side}`, unit: "MB", tunnel: MB(r.loaded[side].rssKiB), digits: 1 })
      }
      const growth = ["server", "client"].reduce((s, side) => s + r.loaded[side].rssKiB - r.idle[side].rssKiB, 0)
      report.add({
        ...row,
        metric: `${label}: RSS growth per conn, server+client`,
        unit: "KiB",
        tunnel: growth / n,
        target: asked === 10_000 ? rssPerConnAt10k(transport) : undefined
      })
    }
  }
  return raw
}
