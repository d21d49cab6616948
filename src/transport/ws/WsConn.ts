/**
 * A `Conn` over a WebSocket: every write is one binary message (masked by the client, RFC 6455 §5.3),
 * every received binary payload is read as bytes, and the underlying connection's backpressure is this
 * connection's (reads pause the socket; a full socket makes `write` return false until it drains).
 *
 * End and close map to the Close handshake: `end()` sends Close and the underlying FIN (the tunnel's
 * protocols frame their own half-close inside, so a carrier only ends when it is done); a received
 * Close ends reading and is answered. Liveness is the carrier's `Pinger`, which counts `missed`.
 */
import { ConnBase, type Conn, type Peer, type Resumable } from "../../net/Conn.ts"
import { CloseCode, closeCode, FrameDecoder, type FrameHandler, MAX_HEADER, nextMaskKey, Opcode, mask, writeHeader } from "./Frame.ts"

/** One header buffer for every connection: `writePair` hands it back on return (one thread). */
const head = Buffer.allocUnsafe(MAX_HEADER)
/** The most prefix bytes (a frame header of the protocol above) joined to the server's header in `joined`. */
const PREFIX_ROOM = 64
const joined = Buffer.allocUnsafe(MAX_HEADER + PREFIX_ROOM)

/** Close codes an endpoint may send (RFC 6455 §7.4): the defined ones and those for libraries and apps. */
const sendable = (code: number): boolean =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)

export class WsConn extends ConnBase implements FrameHandler {
  /** pings sent since anything was last received (the `Pinger` ends the connection at its limit) */
  missed = 0
  private readonly decoder: FrameDecoder
  private closeSent = false
  private closeReceived = false
  private readonly onDrain: Resumable = { resume: () => this.drained() }

  constructor(
    private readonly inner: Conn,
    /** true on the client side: frames sent are masked, frames received must not be */
    private readonly client: boolean,
    /** the peer a trusted proxy forwarded for, if any */
    private readonly forwardedPeer: Peer | undefined
  ) {
    super()
    this.decoder = new FrameDecoder(!client, this)
    inner.onClose(() => this.receivedClose(this.closeReceived || inner.readEnded))
    inner.forward({
      write: (chunk: Buffer) => {
        this.missed = 0
        this.decoder.push(chunk)
        return true // pausing is `pauseReading`, from `received` when our own sink is full
      },
      end: () => this.receivedEnd(),
      whenDrained: () => {}
    })
  }

  protected describePeer(): Peer {
    return this.forwardedPeer ?? this.inner.peer
  }

  setKeepAlive(seconds: number): void {
    this.inner.setKeepAlive(seconds)
  }

  // FrameHandler: what the decoder found

  onData(payload: Buffer): void {
    if (!this.closeReceived) this.received(payload)
  }

  onControl(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      if (!this.closeSent) this.sendFrame(Opcode.Pong, payload)
    } else if (opcode === Opcode.Close) {
      this.closeReceived = true
      this.receivedEnd()
      if (!this.closeSent) {
        // answer with the peer's code (RFC 6455 §5.5.1), then our side is done too; a code that may not
        // be sent on the wire (1005, 1006, 0, …) is a protocol error, no status is a normal close
        const code = closeCode(payload)
        this.sendClose(code === 1005 ? CloseCode.Normal : sendable(code) ? code : CloseCode.ProtocolError)
        this.inner.end()
      }
    }
    // a Pong only proves the peer is alive, which any received byte already recorded
  }

  onError(code: number, _detail: string): void {
    if (!this.closeSent) this.sendClose(code)
    this.inner.close()
  }

  /** Sends a Ping (from the carrier's `Pinger`). */
  ping(): void {
    if (!this.closeSent && !this.closed) this.sendFrame(Opcode.Ping, Buffer.alloc(0))
  }

  // Conn: writes become binary messages

  write(chunk: Uint8Array): boolean {
    if (this.closeSent || this.closed) return true // nothing will drain: do not wait
    if (chunk.length === 0) return true
    return this.sendFrame(Opcode.Binary, chunk)
  }

  /** One message for both parts: the server writes its header and `prefix` together, the client masks one copy. */
  writePair(prefix: Uint8Array, body: Uint8Array): boolean {
    if (this.closeSent || this.closed) return true
    const length = prefix.length + body.length
    let ok: boolean
    if (this.client) {
      const key = nextMaskKey()
      const n = writeHeader(head, Opcode.Binary, length, key)
      const both = Buffer.allocUnsafe(length)
      both.set(prefix, 0)
      both.set(body, prefix.length)
      mask(both, 0, length, key, 0)
      ok = this.inner.writePair(head.subarray(0, n), both)
    } else if (prefix.length <= PREFIX_ROOM) {
      const n = writeHeader(joined, Opcode.Binary, length, undefined)
      joined.set(prefix, n)
      ok = this.inner.writePair(joined.subarray(0, n + prefix.length), body)
    } else {
      const both = Buffer.allocUnsafe(length)
      both.set(prefix, 0)
      both.set(body, prefix.length)
      return this.sendFrame(Opcode.Binary, both)
    }
    if (!ok) this.inner.whenDrained(this.onDrain)
    return ok
  }

  private sendFrame(opcode: number, payload: Uint8Array): boolean {
    let ok: boolean
    if (this.client) {
      const key = nextMaskKey()
      const n = writeHeader(head, opcode, payload.length, key)
      const body = Buffer.allocUnsafe(payload.length)
      body.set(payload, 0)
      mask(body, 0, body.length, key, 0)
      ok = this.inner.writePair(head.subarray(0, n), body)
    } else {
      const n = writeHeader(head, opcode, payload.length, undefined)
      ok = this.inner.writePair(head.subarray(0, n), payload)
    }
    if (!ok) this.inner.whenDrained(this.onDrain)
    return ok
  }

  private sendClose(code: number): void {
    this.closeSent = true
    const payload = Buffer.allocUnsafe(2)
    payload.writeUInt16BE(code, 0)
    this.sendFrame(Opcode.Close, payload)
  }

  end(): void {
    if (this.closeSent || this.closed) return
    this.sendClose(CloseCode.Normal)
    this.inner.end()
  }

  close(): void {
    if (this.closed) return
    if (!this.closeSent) this.sendClose(CloseCode.Normal)
    this.inner.close()
  }

  destroy(): void {
    this.inner.destroy()
  }

  protected pauseReading(): void {
    this.inner.pause()
  }

  protected resumeReading(): void {
    this.inner.resume()
  }
}
