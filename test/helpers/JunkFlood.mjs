// A flood of junk connections against one port, run as its own process (test/e2e/abuse.test.ts) so
// that its sockets count against its own file-descriptor limit, not the server's. Plain JavaScript:
// `node test/helpers/JunkFlood.mjs '<json>'`, where the JSON gives
//   port, count (connections in all), open (most open at once), sources (local addresses, in turn),
//   connecting (most connects in flight at once), mix ({ silent, garbage, http } weights),
//   maxHoldMs (a connection the server has not ended by then is closed by us and counted "held"),
//   sendAtPeak (garbage and http connections send only once every connection has been tried, so that
//   all of them are open at once first).
// Each connection sends nothing (silent), random bytes (garbage) or a truncated HTTP request (http),
// then waits for the server to end it. Prints "PEAK <n>" once every connection has been tried (n of them
// open at that moment), then one JSON line of figures when all are done.
import * as net from "node:net"
import { randomBytes } from "node:crypto"

const o = JSON.parse(process.argv[2])
const started = Date.now()
const figures = {
  count: o.count,
  connected: 0,
  refused: 0,
  refusedCodes: {},
  endedByServer: 0,
  resetByServer: 0,
  held: 0,
  /** answers that were a backhaul refusal (ServerHello with the RateLimited status) */
  rateLimited: 0,
  /** answers that were an HTTP status line */
  http: 0,
  peakOpen: 0,
  peakAfterMs: 0,
  millis: 0
}
const weights = [["silent", o.mix.silent ?? 0], ["garbage", o.mix.garbage ?? 0], ["http", o.mix.http ?? 0]]
const total = weights.reduce((n, [, w]) => n + w, 0)
const kindOf = (i) => {
  let r = (i * 7919) % total
  for (const [k, w] of weights) {
    if (r < w) return k
    r -= w
  }
  return "silent"
}

let next = 0
let open = 0
let connecting = 0
let done = 0
let peakSaid = false
/** what each open connection will send at the peak */
const waiting = new Map()
const junkFor = (kind, i) => (kind === "garbage" ? randomBytes(1 + (i % 200)) : kind === "http" ? Buffer.from("GET / HTTP/1.1\r\nHost: junk\r\n") : undefined)

const finish = () => {
  figures.millis = Date.now() - started
  process.stdout.write(JSON.stringify(figures) + "\n")
  process.exit(0)
}

const one = (i) => {
  const kind = kindOf(i)
  connecting++
  let counted = false
  let answer = Buffer.alloc(0)
  let settled = false
  const socket = net.connect({ host: o.host ?? "127.0.0.1", port: o.port, localAddress: o.sources[i % o.sources.length] })
  const timer = setTimeout(() => end("held"), o.maxHoldMs)
  const end = (how) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    if (!counted) connecting--
    else open--
    pump()
    if (how === "held" && !counted) {
      // the connect itself never completed (SYNs dropped by a full accept queue, retried, given up)
      figures.refusedCodes.CONNECT_TIMEOUT = (figures.refusedCodes.CONNECT_TIMEOUT ?? 0) + 1
      figures.refused++
    } else if (how === "refused") figures.refused++
    else if (how === "held") figures.held++
    else if (how === "reset") figures.resetByServer++
    else figures.endedByServer++
    if (answer.length >= 6 && answer.subarray(0, 4).toString("latin1") === "BKHL" && answer[5] === 5) figures.rateLimited++
    if (answer.subarray(0, 5).toString("latin1") === "HTTP/") figures.http++
    waiting.delete(socket)
    socket.destroy()
    done++
    if (done === o.count) finish()
  }
  socket.on("connect", () => {
    counted = true
    connecting--
    open++
    figures.connected++
    if (open > figures.peakOpen) {
      figures.peakOpen = open
      figures.peakAfterMs = Date.now() - started
    }
    const junk = junkFor(kind, i)
    if (junk !== undefined) {
      if (o.sendAtPeak && !peakSaid) waiting.set(socket, junk)
      else socket.write(junk)
    }
    pump()
  })
  socket.on("data", (c) => {
    if (answer.length < 64) answer = Buffer.concat([answer, c]).subarray(0, 64)
  })
  socket.on("end", () => end("ended"))
  socket.on("error", (e) => {
    if (!counted) figures.refusedCodes[e.code] = (figures.refusedCodes[e.code] ?? 0) + 1
    end(counted ? "reset" : "refused")
  })
  socket.on("close", () => end(counted ? "ended" : "refused"))
}

const pump = () => {
  while (next < o.count && open + connecting < o.open && connecting < o.connecting) one(next++)
  if (!peakSaid && next === o.count && connecting === 0) {
    peakSaid = true
    process.stdout.write(`PEAK ${open}\n`)
    for (const [socket, junk] of waiting) socket.write(junk)
    waiting.clear()
  }
}
pump()
