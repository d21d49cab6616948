/**
 * One byte connection (a user socket, a target socket or a tunnel channel), independent of the socket
 * API underneath. Two backends implement it: `NodeConn` over `node:net` (Node, Deno) and `BunConn` over
 * Bun's native sockets, which set up and move bytes several times cheaper than Bun's `node:net` layer.
 *
 * The read side is shared here: exact-length reads for handshakes and frames, then `forward`, which hands
 * every later byte to another connection with backpressure (the byte pump). Bytes that arrived before
 * `forward` was called are delivered first, untouched.
 */
import { formatHostPort } from "../config/Config.ts"
import { ProtocolError } from "../protocol/Protocol.ts"
import type { SecureContext } from "node:tls"
import type { Cancel, Done } from "./Callback.ts"

/** What a sink wakes when it can take more: a paused connection, or anything else that waits. */
export interface Resumable {
  resume(): void
}

/** Where `forward` delivers bytes: a connection, or anything that writes with backpressure. */
export interface Sink {
  /** takes bytes; false asks the source to pause until `whenDrained` */
  write(chunk: Uint8Array): boolean
  /** the source's input ended cleanly */
  end(): void
  /** asks `source` to resume reading once the sink can take more (undefined: forget any such request) */
  whenDrained(source: Resumable | undefined): void
}

/** Where a connection comes from: the socket's peer, or (behind a trusted proxy) the one it forwards. */
export interface Peer {
  /** an IP address (IPv6 without brackets) or a name */
  readonly host: string
  /** 0 when unknown */
  readonly port: number
}

/** A byte connection with half-close. */
export interface Conn extends Sink {
  /** the peer, structured */
  readonly peer: Peer
  /** the peer, as `host:port` (`[v6]:port`) */
  readonly remote: string
  /** bytes received so far */
  readonly bytesRead: number
  /** closed or destroyed: nothing more can be read or written */
  readonly closed: boolean
  /** the peer ended its side cleanly (FIN), as opposed to a reset */
  readonly readEnded: boolean
  /**
   * Queues bytes; false asks the writer to wait for `whenDrained`. The chunk is the connection's from
   * then on, to hold until written and even to change (a WebSocket client masks large chunks in place):
   * never write a buffer that is read again or shared, unless it is small (under 1 KiB).
   */
  write(chunk: Uint8Array): boolean
  /** `write(chunk.subarray(start, end))`, without making the view where the backend need not */
  writeSlice(chunk: Buffer, start: number, end: number): boolean
  /**
   * Writes `head` then `body` as one (a frame header and its payload). `head` is the caller's again on
   * return (it may be a buffer the caller reuses); `body` is held until written, as `write` holds its
   * chunk. False asks the writer to wait for `whenDrained`.
   */
  writePair(head: Uint8Array, body: Uint8Array): boolean
  /** half-close: no more writes; the peer sees the end once queued bytes are out */
  end(): void
  /** closes once queued bytes are out (a refusal the peer should read) */
  close(): void
  /** closes now, whatever is queued */
  destroy(): void
  /** reads exactly `n` bytes: `Closed` if the peer ends first, `Truncated` if it ends part way */
  read(n: number, done: Done<Buffer, ProtocolError>): Cancel
  /** from now on every byte read goes to `to` (with backpressure), and the end of input ends `to` */
  forward(to: Sink): void
  /**
   * Stops forwarding (called by the sink, even from inside its `write`): reading goes back to buffering,
   * with `unread` (bytes the sink took but does not want) first in line for the next read.
   */
  unforward(unread?: Buffer): void
  /** calls `f` once, when the connection has closed (at once if it already has) */
  onClose(f: (conn: Conn) => void): void
  /** removes an `onClose` callback */
  offClose(f: (conn: Conn) => void): void
  /** stops and restarts reading (backpressure) */
  pause(): void
  resume(): void
  /** turns TCP keep-alive on, first probe after `seconds` idle */
  setKeepAlive(seconds: number): void
}

const closedError = (detail: string) => new ProtocolError({ reason: "Closed", detail })

/** Most bytes buffered before `forward` (during a handshake) before reading pauses. */
const MAX_BUFFERED = 256 * 1024

/** The shared empty list (never written to). */
const NONE: Array<Buffer> = []

interface PendingRead {
  readonly n: number
  readonly done: Done<Buffer, ProtocolError>
}

/** The read side and close bookkeeping every backend shares; a backend feeds it with `received` etc. */
export abstract class ConnBase implements Conn {
  bytesRead = 0
  closed = false
  readEnded = false
  // Per-connection state is kept small (thousands of connections are held): the lists start empty and
  // are made on first use.
  private buffered: Array<Buffer> = NONE
  private bufferedBytes = 0
  private pending: PendingRead | undefined
  private sink: Sink | undefined
  private drainSource: Resumable | undefined
  /** one callback as itself, several as an array (most connections have one or two; thousands are held) */
  private closeCallbacks: ((conn: Conn) => void) | Array<(conn: Conn) => void> | undefined
  private paused = false
  private peerAddress: Peer | undefined

  /** the peer's address, asked of the socket only when first needed (each ask is a system call) */
  get peer(): Peer {
    return (this.peerAddress ??= this.describePeer())
  }

  get remote(): string {
    return formatHostPort(this.peer)
  }

  protected abstract describePeer(): Peer
  abstract setKeepAlive(seconds: number): void
  abstract write(chunk: Uint8Array): boolean
  abstract end(): void
  abstract close(): void
  abstract destroy(): void
  protected abstract pauseReading(): void
  protected abstract resumeReading(): void

  writeSlice(chunk: Buffer, start: number, end: number): boolean {
    return this.write(chunk.subarray(start, end))
  }

  writePair(head: Uint8Array, body: Uint8Array): boolean {
    const both = Buffer.allocUnsafe(head.length + body.length)
    both.set(head, 0)
    both.set(body, head.length)
    return this.write(both)
  }

  /** backend: bytes arrived */
  protected received(chunk: Buffer): void {
    this.bytesRead += chunk.length
    const sink = this.sink
    if (sink !== undefined) {
      // a sink that stopped forwarding inside `write` no longer holds this connection back
      if (!sink.write(chunk) && this.sink === sink) {
        this.pause()
        sink.whenDrained(this)
      }
      return
    }
    if (this.buffered === NONE) this.buffered = [chunk]
    else this.buffered.push(chunk)
    this.bufferedBytes += chunk.length
    if (this.bufferedBytes >= MAX_BUFFERED && this.pending === undefined) this.pause()
    if (this.pending !== undefined) this.settle()
  }

  /** backend: the peer ended its side cleanly */
  protected receivedEnd(): void {
    if (this.readEnded) return
    this.readEnded = true
    if (this.sink !== undefined) this.sink.end()
    else if (this.pending !== undefined) this.settle()
  }

  /** backend: the connection is gone; `clean` when it closed without an error */
  protected receivedClose(clean: boolean): void {
    if (this.closed) return
    // a backend may close without reporting the end first; a clean close is an end
    if (clean) this.receivedEnd()
    this.closed = true
    if (this.pending !== undefined) this.settle()
    const callbacks = this.closeCallbacks
    this.closeCallbacks = undefined
    if (typeof callbacks === "function") callbacks(this)
    else if (callbacks !== undefined) for (const f of callbacks) f(this)
  }

  /** backend: queued bytes are out; the source that waited on us may read again */
  protected drained(): void {
    const source = this.drainSource
    if (source === undefined) return
    this.drainSource = undefined
    source.resume()
  }

  pause(): void {
    if (this.paused || this.closed) return
    this.paused = true
    this.pauseReading()
  }

  resume(): void {
    if (!this.paused || this.closed) return
    this.paused = false
    this.resumeReading()
  }

  whenDrained(source: Resumable | undefined): void {
    this.drainSource = source
  }

  onClose(f: (conn: Conn) => void): void {
    const callbacks = this.closeCallbacks
    if (this.closed) f(this)
    else if (callbacks === undefined) this.closeCallbacks = f
    else if (typeof callbacks === "function") this.closeCallbacks = [callbacks, f]
    else callbacks.push(f)
  }

  offClose(f: (conn: Conn) => void): void {
    const callbacks = this.closeCallbacks
    if (callbacks === f) this.closeCallbacks = undefined
    else if (typeof callbacks === "object") {
      const i = callbacks.indexOf(f)
      if (i >= 0) callbacks.splice(i, 1)
    }
  }

  read(n: number, done: Done<Buffer, ProtocolError>): Cancel {
    // never calls back before returning: callers chain steps as `current = read(…, () => { current = read(…) })`
    const pending: PendingRead = { n, done }
    this.pending = pending
    if (this.bufferedBytes >= n || this.readEnded || this.closed) {
      queueMicrotask(() => {
        if (this.pending === pending) this.settle()
      })
    } else {
      this.resume()
    }
    return () => {
      if (this.pending === pending) this.pending = undefined
    }
  }

  /** completes the pending read if it can be */
  private settle(): void {
    const { n, done } = this.pending!
    if (this.bufferedBytes >= n) {
      this.pending = undefined
      done(undefined, this.take(n))
      return
    }
    if (!this.readEnded && !this.closed) return
    this.pending = undefined
    if (this.bufferedBytes === 0) {
      done(closedError(this.readEnded ? "peer closed the connection" : "connection reset"))
    } else {
      done(new ProtocolError({ reason: "Truncated", detail: `peer closed after ${this.bufferedBytes} of ${n} bytes` }))
    }
  }

  private take(n: number): Buffer {
    const first = this.buffered[0]!
    let out: Buffer
    if (first.length === n) {
      this.buffered.shift()
      if (this.buffered.length === 0) this.buffered = NONE
      out = first
    } else if (first.length > n) {
      this.buffered[0] = first.subarray(n)
      out = first.subarray(0, n)
    } else {
      const all = Buffer.concat(this.buffered)
      out = all.subarray(0, n)
      this.buffered = all.length > n ? [all.subarray(n)] : NONE
    }
    this.bufferedBytes -= n
    return out
  }

  unforward(unread?: Buffer): void {
    this.sink = undefined
    if (unread !== undefined && unread.length > 0) {
      this.buffered = this.buffered === NONE ? [unread] : [unread, ...this.buffered]
      this.bufferedBytes += unread.length
    }
  }

  forward(to: Sink): void {
    this.sink = to
    const early = this.buffered
    this.buffered = NONE
    this.bufferedBytes = 0
    let blocked = false
    for (let i = 0; i < early.length; i++) {
      blocked = !to.write(early[i]!) || blocked
      if (this.sink !== to) {
        // the sink stopped forwarding part way: what it did not take stays buffered, in order
        const rest = early.slice(i + 1)
        if (rest.length > 0) {
          this.buffered = this.buffered === NONE ? rest : [...this.buffered, ...rest]
          for (const c of rest) this.bufferedBytes += c.length
        }
        return
      }
    }
    if (this.readEnded) to.end()
    if (blocked) {
      this.pause()
      to.whenDrained(this)
    } else {
      this.resume() // reading may have been paused by the handshake's buffer cap
    }
  }
}

/** Socket options applied to every tunnel, user and target socket. */
export interface SocketOptions {
  readonly nodelay: boolean
  /** seconds; 0 turns TCP keep-alive off */
  readonly keepaliveSeconds: number
  /** TLS over the socket: a listener's certificate, or what a dialer verifies */
  readonly tls?: TlsServerOptions | TlsClientOptions
}

/** A TLS listener's certificate chain and key (PEM). */
export interface TlsServerOptions {
  readonly role: "server"
  readonly cert: Buffer
  readonly key: Buffer
  /** the most milliseconds a TLS handshake may take */
  readonly handshakeMillis: number
}

/** What a TLS dialer sends as SNI and checks the certificate against. */
export interface TlsClientOptions {
  readonly role: "client"
  /** SNI, and the name the certificate must carry */
  readonly serverName: string
  /** trusted CAs (PEM); undefined: the system's store */
  readonly ca: Buffer | undefined
  /** false only when the user asked to skip verification */
  readonly verify: boolean
  /** the parsed trust store, built once by whoever owns these options (parsing it per dial is slow) */
  readonly context?: SecureContext | undefined
}

/** A bound listener of a backend. */
export interface Listener {
  readonly port: number
  readonly host: string
  /** stops accepting (open connections are their owners' to close) */
  stop(): void
}

/** What a socket backend provides: listening and dialing that hand out `Conn`s. */
export interface Backend {
  readonly name: "node" | "bun"
  /** binds and calls back with the listener or why binding failed */
  listen(
    host: string,
    port: number,
    options: SocketOptions,
    onConn: (conn: Conn) => void,
    done: Done<Listener, Error>
  ): void
  /** connects and calls back with the connection; cancelling before that abandons it */
  connect(host: string, port: number, options: SocketOptions, done: Done<Conn, Error>): Cancel
}
