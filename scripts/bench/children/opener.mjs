// Benchmark load generator for the scale test, in its own process with a raised fd limit.
// argv: port n concurrency perConnMs totalMs
// Opens n connections to 127.0.0.1:port (at most `concurrency` being set up at once), checks that each
// echoes a unique line, and keeps them all open and idle. Then answers commands on stdin, one per line:
//   check  every held connection echoes again      close  close them all and exit
// Results are JSON lines on stdout. Exits when stdin closes.
import * as net from "node:net"
import { createInterface } from "node:readline"

const [port, n, concurrency, perConnMs, totalMs] = process.argv.slice(2).map(Number)
const held = []
let dropped = 0

const say = (event) => console.log(JSON.stringify(event))
const message = (i, round) => `c${i}.${round}.`.padEnd(31, "x") + "\n"

/** Sends one line on `socket` and resolves null when it is echoed, else why not. */
const echo = (socket, line, ms) =>
  new Promise((resolve) => {
    let got = ""
    const finish = (why) => {
      clearTimeout(timer)
      socket.off("data", onData)
      socket.off("close", onClose)
      resolve(why)
    }
    const onData = (d) => {
      got += d
      if (got.length >= line.length) finish(got === line ? null : "wrong echo")
    }
    const onClose = () => finish("closed")
    const timer = setTimeout(() => finish("timeout"), ms)
    socket.on("data", onData)
    socket.on("close", onClose)
    socket.write(line)
  })

const openOne = (i) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.setEncoding("utf8")
    socket.on("error", () => {})
    socket.once("connect", async () => {
      const why = await echo(socket, message(i, 0), perConnMs)
      if (why) {
        socket.destroy()
        return resolve(why)
      }
      socket.once("close", () => dropped++)
      held.push({ i, socket })
      resolve(null)
    })
    socket.once("close", () => resolve("refused or reset"))
  })

/** Runs `task(i)` for i < count with at most `limit` at once; tallies failures by reason. */
async function runAll(count, limit, deadline, task) {
  const errors = {}
  let next = 0
  let ok = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const why = performance.now() > deadline ? "deadline" : await task(i)
      if (why) errors[why] = (errors[why] ?? 0) + 1
      else ok++
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker))
  return { ok, failed: count - ok, errors }
}

const t0 = performance.now()
const opened = await runAll(n, concurrency, t0 + totalMs, openOne)
say({ event: "opened", ...opened, ms: Math.round(performance.now() - t0) })

let round = 0
createInterface({ input: process.stdin }).on("line", async (line) => {
  if (line === "check") {
    round++
    const t1 = performance.now()
    const alive = held.filter((h) => !h.socket.destroyed)
    const r = await runAll(alive.length, concurrency, t1 + totalMs, (k) => echo(alive[k].socket, message(alive[k].i, round), perConnMs))
    say({ event: "checked", held: held.length, dropped, ...r, ms: Math.round(performance.now() - t1) })
  } else if (line === "close") {
    for (const h of held) h.socket.destroy()
    say({ event: "closed" })
    process.exit(0)
  }
}).on("close", () => process.exit(0))
