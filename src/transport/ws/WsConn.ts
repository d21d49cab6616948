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
import { CloseCode, closeCode, FrameDecoder, type FrameHandler, MAX_HEADER, type MaskKeys, Opcode, mask, writeHeader } from "./Frame.ts"

/** The most prefix bytes (a frame header of the protocol above) written with ours from `joined`. */
const PREFIX_ROOM = 64
/** One header buffer for every connection: `writePair` hands it back on return (one thread). */
const joined = Buffer.allocUnsafe(MAX_HEADER + PREFIX_ROOM)
/** Bodies from this size on are masked in place by the client; smaller ones are copied first. */
const MASK_IN_PLACE = 1024
const EMPTY = Buffer.alloc(0)
/** Bodies from this size on are written after their header rather than copied behind it. */
const WRITE_APART = 16 * 1024

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
    /** the client side's mask keys (frames sent are masked, frames received must not be); undefined on the server */
    private readonly keys: MaskKeys | undefined,
    /** the peer a trusted proxy forwarded for, if any */
    private readonly forwardedPeer: Peer | undefined
  ) {
    super()
    this.decoder = new FrameDecoder(keys === undefined, this)
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
      if (!this.closeSent) this.send(Opcode.Pong, undefined, payload)
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
    if (!this.closeSent && !this.closed) this.send(Opcode.Ping, undefined, EMPTY)
  }

  // Conn: writes become binary messages

  write(chunk: Uint8Array): boolean {
    if (this.closeSent || this.closed) return true // nothing will drain: do not wait
    if (chunk.length === 0) return true
    return this.send(Opcode.Binary, undefined, chunk)
  }

  /** `prefix` and `body` as one message; a small prefix (a frame header above) rides with ours. */
  writePair(prefix: Uint8Array, body: Uint8Array): boolean {
    if (this.closeSent || this.closed) return true
    if (prefix.length <= PREFIX_ROOM) return this.send(Opcode.Binary, prefix, body)
    const both = Buffer.allocUnsafe(prefix.length + body.length)
    both.set(prefix, 0)
    both.set(body, prefix.length)
    return this.send(Opcode.Binary, undefined, both)
  }

  /**
   * Writes one final frame: our header and `prefix` (at most PREFIX_ROOM bytes) from the shared buffer,
   * then `body`. The client masks: the header buffer's copy of the prefix, and the body where it is when
   * it is large — a chunk handed to `write` belongs to the connection (measured: copying every chunk
   * to mask it cost the client more CPU than the rest of its data path) — or a copy when it is small,
   * since small buffers may be shared (a constant End frame).
   */
  private send(opcode: number, prefix: Uint8Array | undefined, body: Uint8Array): boolean {
    const pre = prefix === undefined ? 0 : prefix.length
    const key = this.keys?.next()
    const n = writeHeader(joined, opcode, pre + body.length, key)
    if (prefix !== undefined) joined.set(prefix, n)
    let payload = body
    if (key !== undefined) {
      if (pre > 0) mask(joined, n, n + pre, key, 0)
      if (body.length < MASK_IN_PLACE) payload = Buffer.from(body)
      mask(payload, 0, payload.length, key, pre & 3)
    }
    let ok: boolean
    if (payload.length < WRITE_APART) {
      ok = this.inner.writePair(joined.subarray(0, n + pre), payload)
    } else {
      const headTaken = this.inner.write(Buffer.from(joined.subarray(0, n + pre)))
      ok = this.inner.write(payload) && headTaken
    }
    if (!ok) this.inner.whenDrained(this.onDrain)
    return ok
  }

  private sendClose(code: number): void {
    this.closeSent = true
    const payload = Buffer.allocUnsafe(2)
    payload.writeUInt16BE(code, 0)
    this.send(Opcode.Close, undefined, payload)
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
