// Benchmark reference point: a bare TCP relay on Bun's native sockets (the socket layer of the compiled
// tunnel), in its own process. Two of them in a row make a "two-hop relay": the same two processes and
// hops as a tunnel, with none of its work (no framing, no channel pool, no authentication, no logging).
// It keeps what a fair comparison needs: backpressure, and half-close (an end is passed on as a
// shutdown; a socket closes once both of its directions are over).
// Runs under Bun only. argv: listenPort targetPort. Prints "listening <port>"; exits when stdin closes.
const [listenPort, targetPort] = process.argv.slice(2).map(Number)
const HOST = "127.0.0.1"

/** One side of a relayed connection: its socket, the peer side, what waits to be written to it. */
class Side {
  socket = undefined
  peer = undefined
  queue = [] // chunks not yet taken by the kernel, or written before the socket opened
  readEnded = false // its peer sent FIN (nothing more will be read)
  writeEnding = false // shut it down once the queue is out
  shut = false

  write(chunk) {
    if (this.queue.length > 0 || this.socket === undefined) return void this.queue.push(Buffer.from(chunk))
    const n = this.socket.write(chunk)
    if (n >= 0 && n < chunk.length) {
      this.queue.push(Buffer.from(chunk.subarray(n)))
      this.peer.socket?.pause()
    }
  }

  flush() {
    while (this.queue.length > 0 && this.socket !== undefined) {
      const chunk = this.queue[0]
      const n = this.socket.write(chunk)
      if (n < 0) return
      if (n < chunk.length) return void (this.queue[0] = chunk.subarray(n))
      this.queue.shift()
    }
    if (this.socket === undefined) return
    this.peer.socket?.resume()
    if (this.writeEnding && !this.shut) {
      this.shut = true
      if (this.readEnded) this.socket.end()
      else this.socket.shutdown()
    }
  }

  /** the peer's input ended: pass the end on */
  endWrites() {
    this.writeEnding = true
    if (this.queue.length === 0) this.flush()
  }
}

const handlers = {
  data: (s, chunk) => s.data.peer.write(chunk),
  drain: (s) => s.data.flush(),
  end: (s) => {
    const side = s.data
    side.readEnded = true
    if (side.shut) s.end() // both directions over
    side.peer.endWrites()
  },
  close: (s, error) => {
    const side = s.data
    side.socket = undefined
    if (error === undefined) {
      // clean: a FIN after our own shutdown closes the socket without an `end` event
      if (!side.readEnded) {
        side.readEnded = true
        side.peer.endWrites()
      }
    } else {
      // a reset or an error cuts the other side short too
      side.peer.socket?.terminate()
    }
  },
  error: () => {}
}

// one handlers object for every dial, as the tunnel does
const dialHandlers = {
  ...handlers,
  open: (target) => {
    const back = target.data
    back.socket = target
    back.flush()
  },
  connectError: (target) => target.data.peer.socket?.terminate()
}

Bun.listen({
  hostname: HOST,
  port: listenPort,
  allowHalfOpen: true,
  socket: {
    ...handlers,
    open: (user) => {
      const front = new Side()
      const back = new Side()
      front.socket = user
      front.peer = back
      back.peer = front
      user.data = front
      Bun.connect({ hostname: HOST, port: targetPort, allowHalfOpen: true, data: back, socket: dialHandlers }).catch(() => {})
    }
  }
})
console.log(`listening ${listenPort}`)
process.stdin.on("end", () => process.exit(0)).on("error", () => process.exit(0)).resume()
