/**
 * A connected pair of in-memory `Conn`s: what one writes, the other reads, with half-close and reset.
 * For tests and for programs that embed the protocol without sockets. Writes never apply backpressure.
 */
import { type Conn, ConnBase } from "./Conn.ts"

class MemoryConn extends ConnBase {
  peer: MemoryConn | undefined
  private ended = false

  constructor(private readonly name: string) {
    super()
  }

  protected describeRemote(): string {
    return this.name
  }

  setKeepAlive(): void {}

  write(chunk: Uint8Array): boolean {
    if (!this.ended && !this.closed) this.peer?.received(Buffer.from(chunk))
    return true
  }

  end(): void {
    if (this.ended || this.closed) return
    this.ended = true
    this.peer?.receivedEnd()
    this.closeIfDone()
    this.peer?.closeIfDone()
  }

  close(): void {
    this.end()
    this.receivedClose(true)
  }

  destroy(): void {
    this.receivedClose(false)
    this.peer?.receivedClose(false)
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
  a.peer = b
  b.peer = a
  return [a, b]
}
