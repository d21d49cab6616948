// The bare two-hop relay: two `children/relay.mjs` processes in a row under Bun (the npm `bun` dev
// dependency), so the same two hops and the same socket layer as a tunnel, without any tunnel logic.
// Measured next to each tunnel, it shows how much of the gap to direct is the tunnel's own work and how
// much is two extra processes and hops on the same cores. Not a target: a reference.
import { fileURLToPath } from "node:url"
import { bunExecutable } from "../bun.mjs"
import { freePorts } from "./net.mjs"
import * as procs from "./procs.mjs"

const script = fileURLToPath(new URL("./children/relay.mjs", import.meta.url))

/**
 * Starts user port → hop → hop → `targetPort`. Resolves `{ port, pids, stop }` (`pids`: first hop, second
 * hop), or `{ missing }` saying why it cannot run (then the rows that compare with it are left out).
 */
export async function startTwoHop(targetPort) {
  const bun = bunExecutable()
  if (bun === undefined) return { missing: "Bun (npm package `bun`) is not installed" }
  const [front, middle] = await freePorts(2)
  const hops = [
    procs.start("relay hop 2", bun, [script, String(middle), String(targetPort)], { stdin: "pipe" }),
    procs.start("relay hop 1", bun, [script, String(front), String(middle)], { stdin: "pipe" })
  ]
  for (const hop of hops) await hop.waitFor(/^listening/, 10_000)
  return { port: front, pids: [hops[1].pid, hops[0].pid], stop: () => Promise.all(hops.map((h) => h.stop())) }
}
