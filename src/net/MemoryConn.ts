/**
 * A connected pair of in-memory `Conn`s: what one writes, the other reads, with half-close and reset.
 * For tests and for programs that embed the protocol without sockets. Writes never apply backpressure.
 */
import { type Conn, ConnBase, type Peer } from "./Conn.ts"

class MemoryConn extends ConnBase {
  other: MemoryConn | undefined
  private ended = false

  constructor(private readonly name: string) {
    super()
  }

  protected describePeer(): Peer {
    return { host: this.name, port: 0 }
  }

  setKeepAlive(): void {}

  write(chunk: Uint8Array): boolean {
    if (!this.ended && !this.closed) this.other?.received(Buffer.from(chunk))
    return true
  }

  end(): void {
    if (this.ended || this.closed) return
    this.ended = true
    this.other?.receivedEnd()
    this.closeIfDone()
    this.other?.closeIfDone()
  }

  close(): void {
    this.end()
    this.receivedClose(true)
  }

  destroy(): void {
    this.receivedClose(false)
    this.other?.receivedClose(false)
  }

  private closeIfDone(): void {
    if (this.ended && this.readEnded) this.receivedClose(true)
  }

  protected pauseReading(): void {}
  protected resumeReading(): void {}
}

/** Two connected in-memory connections. */
export const pair = (remote = "memory"): [Conn, Conn] => {
  const a = new MemoryConn(remote)
  const b = new MemoryConn(remote)
  a.other = b
  b.other = a
  return [a, b]
}
