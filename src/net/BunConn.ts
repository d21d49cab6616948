/**
 * `Conn` over Bun's native sockets (`Bun.listen` / `Bun.connect`): the backend of the compiled binary.
 * Bun's `write` takes what the kernel accepts now and returns the count; the rest waits here, in order,
 * until Bun calls `drain`. Half-close is `shutdown()`; a full close once the queue is out is `end()`.
 *
 * Only the few members of Bun's API used here are declared, so the source type-checks without Bun's
 * types and loads under Node and Deno (which never construct it).
 */
import type { Done } from "./Callback.ts"
import { type Backend, type Conn, ConnBase, type Peer, type SocketOptions } from "./Conn.ts"

const ignore = () => {}

/** One scratch buffer per process for `writePair` (JavaScript runs on one thread). */
const scratch = Buffer.allocUnsafe(64 * 1024)

/** The parts of a Bun TCP socket this backend uses. */
export interface BunSocket {
  data: BunConn | Dialing | undefined
  readonly remoteAddress: string
  readonly remotePort?: number
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number
  shutdown(): void
  end(): void
  terminate(): void
  pause(): void
  resume(): void
  setNoDelay(enable: boolean): boolean
  setKeepAlive(enable: boolean, initialDelayMillis: number): boolean
}

/** A dial in progress: what its socket's `data` holds until it opens. */
interface Dialing {
  readonly options: SocketOptions
  readonly done: Done<Conn, Error>
  cancelled: boolean
}

const connOf = (s: BunSocket): BunConn | undefined => {
  const data = s.data // a native getter: read once
  return data instanceof BunConn ? data : undefined
}

/**
 * The socket handlers, one object for every socket: they dispatch to the socket's `BunConn`, so no
 * connection keeps closures of its own alive on Bun's side.
 */
const handlers = {
  data: (s: BunSocket, chunk: Buffer) => connOf(s)?.onData(chunk),
  drain: (s: BunSocket) => connOf(s)?.onDrain(),
  end: (s: BunSocket) => connOf(s)?.onEnd(),
  close: (s: BunSocket, error?: Error) => connOf(s)?.onClosed(error === undefined),
  error: () => {} // followed by `close` with the error
}

/** Handlers of dialed sockets: `open` turns the dial into a `BunConn`. */
const dialHandlers = {
  ...handlers,
  open: (s: BunSocket) => {
    const dialing = s.data as Dialing
    if (dialing.cancelled) return s.terminate()
    dialing.done(undefined, configure(s, dialing.options))
  },
  connectError: (s: BunSocket, e: Error) => {
    const dialing = s.data as Dialing
    if (!dialing.cancelled) dialing.done(e)
  }
}

export class BunConn extends ConnBase {
  private queue: Array<Uint8Array> | undefined
  private ending = false
  private closing = false
  private shutdownSent = false
  private endSent = false

  constructor(private readonly socket: BunSocket) {
    super()
    socket.data = this
  }

  protected describePeer(): Peer {
    return { host: this.socket.remoteAddress ?? "?", port: this.socket.remotePort ?? 0 }
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
    this.queue = undefined
    this.receivedClose(clean)
  }

  onDrain(): void {
    const queue = this.queue
    while (queue !== undefined && queue.length > 0) {
      const chunk = queue[0]!
      const n = this.socket.write(chunk)
      if (n < 0) return // closed; `close` follows
      if (n < chunk.length) {
        queue[0] = chunk.subarray(n)
        return
      }
      queue.shift()
    }
    this.queue = undefined
    this.finishWrites()
    this.drained()
  }

  /** Small pairs are joined in one scratch buffer: Bun copies what it writes, so the buffer is free again. */
  writePair(head: Uint8Array, body: Uint8Array): boolean {
    const size = head.length + body.length
    if (size > scratch.length || this.queue !== undefined || this.shut) return super.writePair(head, body)
    scratch.set(head, 0)
    scratch.set(body, head.length)
    return this.send(scratch, 0, size, true)
  }

  // A view of a small buffer makes JavaScriptCore move the buffer's bytes out of its heap; Bun writes
  // a range without one.
  writeSlice(chunk: Buffer, start: number, end: number): boolean {
    if (this.queue !== undefined || this.shut) return this.write(chunk.subarray(start, end))
    return this.send(chunk, start, end, false)
  }

  write(chunk: Uint8Array): boolean {
    if (this.shut) return true // nothing will drain: do not wait
    if (this.queue !== undefined) {
      this.queue.push(chunk)
      return false
    }
    return this.send(chunk, 0, chunk.length, false)
  }

  /** ending or closed: nothing more is written, and nothing will drain */
  private get shut(): boolean {
    return this.closed || this.ending || this.closing
  }

  /**
   * Writes `buf[start, end)` with an empty queue; what the kernel does not take now starts the queue
   * (copied when `buf` is about to be reused). False asks the writer to wait for `drain`.
   */
  private send(buf: Uint8Array, start: number, end: number, copy: boolean): boolean {
    const n = this.socket.write(buf, start, end - start)
    if (n < 0 || n >= end - start) return true // all taken, or closed (`close` follows)
    const rest = n === 0 && start === 0 && end === buf.length ? buf : buf.subarray(start + n, end)
    this.queue = [copy ? Buffer.from(rest) : rest]
    return false
  }

  end(): void {
    if (this.shut) return
    this.ending = true
    if (this.queue === undefined) this.finishWrites()
  }

  close(): void {
    if (this.closed || this.closing) return
    this.closing = true
    if (this.queue === undefined) this.finishWrites()
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
    const dialing: Dialing = { options, done, cancelled: false }
    bun().connect({ hostname: host, port, allowHalfOpen: true, data: dialing, socket: dialHandlers })
      .catch(ignore) // reported through connectError
    return () => {
      dialing.cancelled = true
    }
  }
}
