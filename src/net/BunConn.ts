/**
 * `Conn` over Bun's native sockets (`Bun.listen` / `Bun.connect`): the backend of the compiled binary.
 * Bun's `write` takes what the kernel accepts now and returns the count; the rest waits here, in order,
 * until Bun calls `drain`. Half-close is `shutdown()`; a full close once the queue is out is `end()`.
 *
 * Only the few members of Bun's API used here are declared, so the source type-checks without Bun's
 * types and loads under Node and Deno (which never construct it).
 */
import { type Backend, ConnBase, type SocketOptions } from "./Conn.ts"

/** The parts of a Bun TCP socket this backend uses. */
export interface BunSocket {
  data: BunConn | undefined
  readonly remoteAddress: string
  readonly remotePort?: number
  write(data: Uint8Array): number
  shutdown(): void
  end(): void
  terminate(): void
  pause(): void
  resume(): void
  setNoDelay(enable: boolean): boolean
  setKeepAlive(enable: boolean, initialDelayMillis: number): boolean
}

/** The socket handlers, shared by every socket of a listener or a dial: they dispatch to the `BunConn`. */
export const handlers = {
  data: (s: BunSocket, chunk: Buffer) => s.data?.onData(chunk),
  drain: (s: BunSocket) => s.data?.onDrain(),
  end: (s: BunSocket) => s.data?.onEnd(),
  close: (s: BunSocket, error?: Error) => s.data?.onClosed(error === undefined),
  error: () => {} // followed by `close` with the error
}

export class BunConn extends ConnBase {
  private queue: Array<Uint8Array> = []
  private ending = false
  private closing = false
  private shutdownSent = false
  private endSent = false

  constructor(private readonly socket: BunSocket) {
    super()
    socket.data = this
  }

  protected describeRemote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort ?? "?"}`
  }

  setKeepAlive(seconds: number): void {
    if (!this.closed) this.socket.setKeepAlive(true, seconds * 1000)
  }

  onData(chunk: Buffer): void {
    this.received(chunk)
  }

  onEnd(): void {
    this.receivedEnd()
  }

  onClosed(clean: boolean): void {
    this.queue = []
    this.receivedClose(clean)
  }

  onDrain(): void {
    const queue = this.queue
    while (queue.length > 0) {
      const chunk = queue[0]!
      const n = this.socket.write(chunk)
      if (n < 0) return // closed; `close` follows
      if (n < chunk.length) {
        queue[0] = chunk.subarray(n)
        return
      }
      queue.shift()
    }
    this.finishWrites()
    this.drained()
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending || this.closing) return true // nothing will drain: do not wait
    if (this.queue.length > 0) {
      this.queue.push(chunk)
      return false
    }
    const n = this.socket.write(chunk)
    if (n >= 0 && n < chunk.length) {
      this.queue.push(n === 0 ? chunk : chunk.subarray(n))
      return false
    }
    return true
  }

  end(): void {
    if (this.closed || this.ending || this.closing) return
    this.ending = true
    if (this.queue.length === 0) this.finishWrites()
  }

  close(): void {
    if (this.closed || this.closing) return
    this.closing = true
    if (this.queue.length === 0) this.finishWrites()
    // a peer that never reads must not keep the socket
    else setTimeout(() => this.destroy(), 10_000).unref?.()
  }

  destroy(): void {
    if (this.closed) return
    this.socket.terminate()
    this.onClosed(false)
  }

  /** the queue is out: apply a pending end or close */
  private finishWrites(): void {
    if (this.closing) {
      if (this.endSent) return
      this.endSent = true
      this.socket.end()
    } else if (this.ending && !this.shutdownSent) {
      this.shutdownSent = true
      this.socket.shutdown()
    }
  }

  protected pauseReading(): void {
    this.socket.pause()
  }

  protected resumeReading(): void {
    this.socket.resume()
  }
}

/** The parts of Bun's global this backend uses. */
interface BunApi {
  listen(options: object): { readonly hostname: string; readonly port: number; stop(closeActive?: boolean): void }
  connect(options: object): Promise<unknown>
}

const bun = (): BunApi => (globalThis as unknown as { Bun: BunApi }).Bun

// Bun turns Nagle off on every socket it makes, so only `nodelay = false` costs a system call here.
const configure = (socket: BunSocket, options: SocketOptions): BunConn => {
  if (!options.nodelay) socket.setNoDelay(false)
  return new BunConn(socket)
}

/** The Bun-native backend. */
export const backend: Backend = {
  name: "bun",
  listen: (host, port, options, onConn, done) => {
    let listener: ReturnType<BunApi["listen"]>
    try {
      listener = bun().listen({
        hostname: host,
        port,
        allowHalfOpen: true,
        socket: { ...handlers, open: (s: BunSocket) => onConn(configure(s, options)) }
      })
    } catch (e) {
      return done(e instanceof Error ? e : new Error(String(e)))
    }
    done(undefined, { host: listener.hostname, port: listener.port, stop: () => listener.stop() })
  },
  connect: (host, port, options, done) => {
    let cancelled = false
    bun().connect({
      hostname: host,
      port,
      allowHalfOpen: true,
      socket: {
        ...handlers,
        open: (s: BunSocket) => {
          if (cancelled) s.terminate()
          else done(undefined, configure(s, options))
        },
        connectError: (_s: BunSocket, e: Error) => {
          if (!cancelled) done(e)
        }
      }
    }).catch(() => {}) // reported through connectError
    return () => {
      cancelled = true
    }
  }
}
