// Soak load generator, in its own process (its CPU and fds are not the tunnel's, and in a parallel soak
// each transport's load gets its own event loop). argv[2]: JSON options (see `defaults` below).
// Drives three kinds of traffic at one user port whose target echoes:
//   bulk     consecutive transfers on one connection at a time, at a bounded rate (or as fast as the
//            tunnel takes it); each transfer is hashed as sent and as echoed, and checked when the echo ends
//   short    new connections at a fixed rate: send a unique request, read its echo, half-close, wait for
//            the tunnel to close the connection
//   holders  connections opened at start and held for the run, each touched (a unique line echoed) in turn
// Plain callbacks and counters, no per-chunk allocation beyond what the socket hands us.
// Commands on stdin, one per line; answers are JSON lines on stdout:
//   sample SEQ   cumulative counters (and the latencies since the last sample)
//   stop         stop launching, finish what is in flight, touch every holder once more, close, report, exit
// Exits when stdin closes (the soak ended or died).
import { createHash, randomBytes } from "node:crypto"
import * as net from "node:net"
import { createInterface } from "node:readline"

const defaults = {
  host: "127.0.0.1",
  port: 0,
  bulkBytesPerSecond: 16 * 2 ** 20, // 0: as fast as the tunnel takes it
  transferBytes: 256 * 2 ** 20,
  connsPerSecond: 100,
  holders: 200,
  touchSeconds: 30, // every holder is touched once per this many seconds
  timeoutMs: 10_000 // per short connection, per touch, per transfer's final echo
}
const o = { ...defaults, ...JSON.parse(process.argv[2] ?? "{}") }
const say = (event) => process.stdout.write(JSON.stringify(event) + "\n")
const bump = (tally, why) => (tally[why] = (tally[why] ?? 0) + 1)
const reason = (e) => e?.code ?? e?.message ?? String(e)

let stopping = false
const t0 = performance.now()
let shortFrom = t0 // set again when the steady traffic starts, after the holders are open

// ---------------------------------------------------------------- bulk
const CHUNK = 64 * 1024
const POOL_SIZE = 1 << 20
// Chunk k is the pool at offset k·65537 mod 2^20: neighbouring chunks differ, so a lost, repeated or
// reordered chunk changes the echoed hash, not only its length.
const pool = randomBytes(POOL_SIZE + CHUNK)
const chunkAt = (k) => {
  const off = (k * 65_537) % POOL_SIZE
  return pool.subarray(off, off + CHUNK)
}
const bulk = { sentBytes: 0, echoedBytes: 0, transfers: 0, verified: 0, lostBytes: 0, corrupt: 0, errors: {} }
let transfer
let budgetFrom = performance.now()
let budgetSent = 0

function startTransfer() {
  const socket = net.connect({ host: o.host, port: o.port })
  const t = { socket, k: 0, sent: 0, echoed: 0, tx: createHash("sha256"), rx: createHash("sha256"), ended: false, done: false, timer: undefined }
  transfer = t
  bulk.transfers++
  socket.on("data", (d) => {
    t.rx.update(d)
    t.echoed += d.length
    bulk.echoedBytes += d.length
  })
  socket.on("drain", pump)
  socket.on("end", () => finishTransfer(t, t.ended ? undefined : "echo ended before the transfer"))
  socket.on("error", (e) => finishTransfer(t, reason(e)))
  socket.on("close", () => finishTransfer(t, "closed before the echo ended"))
}

/** Half-closes the transfer; the echo target ends its side once it has echoed everything. */
function endTransfer(t) {
  if (t.ended) return
  t.ended = true
  t.socket.end()
  t.timer = setTimeout(() => finishTransfer(t, "no end of echo"), o.timeoutMs)
}

function finishTransfer(t, error) {
  if (t.done) return
  t.done = true
  clearTimeout(t.timer)
  if (transfer === t) transfer = undefined
  if (error !== undefined) bump(bulk.errors, error)
  // the bytes sent that did not come back, or came back different: lost either way
  if (t.echoed < t.sent) bulk.lostBytes += t.sent - t.echoed
  else if (t.echoed > t.sent) bump(bulk.errors, "more bytes echoed than sent")
  else if (t.tx.digest("hex") !== t.rx.digest("hex")) {
    bulk.corrupt++
    bulk.lostBytes += t.sent
  } else if (error === undefined) bulk.verified++
  t.socket.destroy()
  if (!stopping) startTransfer()
  else settle()
}

/** Writes what the rate allows (everything the socket takes when unbounded), then waits for a tick or drain. */
function pump() {
  const t = transfer
  if (!t || t.ended || stopping) return
  const now = performance.now()
  let budget = Infinity
  if (o.bulkBytesPerSecond > 0) {
    // at most a quarter second of catch-up after a stall: a stall shows in the throughput, not as a burst
    const cap = o.bulkBytesPerSecond / 4
    budget = (o.bulkBytesPerSecond * (now - budgetFrom)) / 1000 - budgetSent
    if (budget > cap) {
      budgetSent += budget - cap
      budget = cap
    }
  }
  while (budget >= CHUNK && t.sent < o.transferBytes) {
    const chunk = chunkAt(t.k++)
    t.tx.update(chunk)
    t.sent += CHUNK
    bulk.sentBytes += CHUNK
    budgetSent += CHUNK
    budget -= CHUNK
    if (!t.socket.write(chunk)) return
  }
  if (t.sent >= o.transferBytes) endTransfer(t)
}

// ---------------------------------------------------------------- short connections
const MAX_IN_FLIGHT = 512
const short = { started: 0, ok: 0, skipped: 0, inFlight: 0, errors: {} }
let latencies = []
let due = 0

function shortOne(i) {
  short.started++
  short.inFlight++
  const request = Buffer.concat([Buffer.from(`s${i}:`), randomBytes(24)])
  const socket = net.connect({ host: o.host, port: o.port })
  const begun = performance.now()
  let got = Buffer.alloc(0)
  let state = "echo" // then "closing" once the echo is checked, then "done"
  const done = (error) => {
    if (state === "done") return
    if (error !== undefined) bump(short.errors, error)
    state = "done"
    clearTimeout(timer)
    short.inFlight--
    socket.destroy()
    settle()
  }
  const timer = setTimeout(() => done(state === "echo" ? "no echo in time" : "not closed after half-close"), o.timeoutMs)
  socket.on("connect", () => socket.write(request))
  socket.on("data", (d) => {
    if (state !== "echo") return done("bytes after the echo")
    got = got.length === 0 ? d : Buffer.concat([got, d])
    if (got.length < request.length) return
    if (!got.equals(request)) return done("wrong echo")
    short.ok++
    latencies.push(performance.now() - begun)
    state = "closing"
    socket.end()
  })
  socket.on("error", (e) => done(reason(e)))
  socket.on("close", () => done(state === "echo" ? "closed before the echo" : undefined))
}

function launchShort() {
  if (stopping || o.connsPerSecond <= 0) return
  const target = Math.floor((o.connsPerSecond * (performance.now() - shortFrom)) / 1000)
  while (due < target) {
    due++
    if (short.inFlight >= MAX_IN_FLIGHT) short.skipped++ // the tunnel is not keeping up: shows as a lower rate
    else shortOne(due)
  }
}

// ---------------------------------------------------------------- holders
const holders = { opened: 0, openFailed: 0, open: 0, dropped: 0, touches: 0, touchErrors: {} }
const held = []
let touchNext = 0

/** Sends a unique line on holder `h` and calls back with undefined when it is echoed, else why not. */
function touch(h, round, callback) {
  const line = Buffer.from(`h${h.i}.${round}.`.padEnd(31, "x") + "\n")
  let got = Buffer.alloc(0)
  const finish = (why) => {
    clearTimeout(timer)
    h.pending = undefined
    callback(why)
  }
  const timer = setTimeout(() => finish("no echo in time"), o.timeoutMs)
  h.pending = {
    data: (d) => {
      got = got.length === 0 ? d : Buffer.concat([got, d])
      if (got.length >= line.length) finish(got.equals(line) ? undefined : "wrong echo")
    },
    closed: () => finish("closed")
  }
  h.socket.write(line)
}

function openHolder(i, callback) {
  const socket = net.connect({ host: o.host, port: o.port })
  const h = { i, socket, round: 0, pending: undefined, closed: false }
  socket.on("data", (d) => (h.pending ? h.pending.data(d) : bump(holders.touchErrors, "unasked bytes")))
  socket.on("error", () => {})
  socket.on("close", () => {
    h.closed = true
    if (h.open) {
      h.open = false
      holders.open--
      if (!stopping) holders.dropped++
    }
    h.pending?.closed()
  })
  socket.on("connect", () =>
    touch(h, h.round++, (why) => {
      if (why) {
        holders.openFailed++
        socket.destroy()
      } else {
        holders.opened++
        holders.open++
        h.open = true
        held.push(h)
      }
      callback()
    }))
  socket.once("error", () => {
    if (h.open || h.pending) return
    holders.openFailed++
    callback()
  })
}

/** Runs `task(i, done)` for i < n with at most `limit` at once, then calls `after`. */
function inTurn(n, limit, task, after) {
  let next = 0
  let running = 0
  const more = () => {
    if (next >= n && running === 0) return after()
    while (running < limit && next < n) {
      running++
      let called = false
      task(next++, () => {
        if (called) return
        called = true
        running--
        more()
      })
    }
  }
  more()
}

/** Touches the next holders in turn, so that each is touched once per `touchSeconds`. */
function touchSome() {
  if (stopping || held.length === 0) return
  const count = Math.max(1, Math.ceil(held.length / o.touchSeconds))
  for (let n = 0; n < count; n++) {
    const h = held[touchNext++ % held.length]
    if (!h.open || h.pending) continue
    touch(h, h.round++, (why) => {
      holders.touches++
      if (why) bump(holders.touchErrors, why)
    })
  }
}

// ---------------------------------------------------------------- reporting and stopping
const total = (tally) => Object.values(tally).reduce((a, b) => a + b, 0)
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null)

function counters() {
  const sorted = latencies.sort((a, b) => a - b)
  latencies = []
  return {
    t: (performance.now() - t0) / 1000,
    bulk: { ...bulk, errors: { ...bulk.errors } },
    short: {
      started: short.started,
      ok: short.ok,
      skipped: short.skipped,
      inFlight: short.inFlight,
      errors: { ...short.errors },
      latencyMs: { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null }
    },
    holders: { ...holders, touchErrors: { ...holders.touchErrors } }
  }
}

let onSettled
/** Called whenever something in flight finishes: completes `stop` once nothing is. */
function settle() {
  if (onSettled && short.inFlight === 0 && transfer === undefined) {
    const f = onSettled
    onSettled = undefined
    f()
  }
}

const timers = []
function stop() {
  if (stopping) return
  stopping = true
  for (const t of timers) clearInterval(t)
  if (transfer) endTransfer(transfer)
  // bounded: everything in flight has its own timeout; this is a backstop
  const backstop = setTimeout(() => {
    const f = onSettled
    onSettled = undefined
    f?.()
  }, o.timeoutMs * 2)
  onSettled = () => {
    clearTimeout(backstop)
    // a last touch of every holder still open: each must still carry bytes at the end of the run
    const open = held.filter((h) => h.open && !h.pending)
    inTurn(open.length, 64, (k, done) =>
      touch(open[k], open[k].round++, (why) => {
        holders.touches++
        if (why) bump(holders.touchErrors, why)
        done()
      }), () => {
      const dropped = holders.dropped
      for (const h of held) h.socket.destroy()
      say({ event: "stopped", ...counters(), holders: { ...holders, dropped, touchErrors: { ...holders.touchErrors } } })
      process.exit(0)
    })
  }
  settle()
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, seq] = line.trim().split(/\s+/)
  if (command === "sample") say({ event: "sample", seq: Number(seq), ...counters() })
  else if (command === "stop") stop()
}).on("close", () => process.exit(0))

// holders first (at most 64 being opened at once), then the steady traffic
inTurn(o.holders, 64, openHolder, () => {
  say({ event: "ready", ...counters() })
  budgetFrom = shortFrom = performance.now()
  startTransfer()
  timers.push(setInterval(pump, 10))
  timers.push(setInterval(launchShort, 10))
  timers.push(setInterval(touchSome, 1_000))
})
