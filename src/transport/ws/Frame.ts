/**
 * The WebSocket frame format (RFC 6455 §5.2), the part of it a tunnel uses: binary messages of any
 * length, streamed (a payload is delivered chunk by chunk as it arrives, never assembled), plus the
 * control frames Close, Ping and Pong. No extensions are negotiated, so RSV bits are always an error.
 *
 * Masking runs four bytes at a time over aligned 32-bit words of the buffer (the payload is unmasked in
 * place: a received chunk belongs to the reader). Pure code over buffers: the decoder is fed chunks and
 * calls back; `test/transport/ws/Frame.test.ts` fuzzes it.
 */
import { randomFillSync } from "node:crypto"
import { endianness } from "node:os"

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const

/** Close codes (RFC 6455 §7.4.1) the tunnel sends. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  Unsupported: 1003,
  PolicyViolation: 1008
} as const

/** The largest header: 2 bytes, 8 of extended length, 4 of mask key. */
export const MAX_HEADER = 14
/** The largest control payload. */
export const MAX_CONTROL = 125

const LITTLE_ENDIAN = endianness() === "LE"

/**
 * Writes a header for a final frame of `opcode` with `length` payload bytes into `out` at 0 and returns
 * its size. `mask` (4 bytes) is written after the length when given: the client masks, the server not.
 */
export const writeHeader = (out: Uint8Array, opcode: number, length: number, mask: Uint8Array | undefined): number => {
  out[0] = 0x80 | opcode
  const maskBit = mask === undefined ? 0 : 0x80
  let n: number
  if (length < 126) {
    out[1] = maskBit | length
    n = 2
  } else if (length < 0x10000) {
    out[1] = maskBit | 126
    out[2] = length >>> 8
    out[3] = length & 0xff
    n = 4
  } else {
    out[1] = maskBit | 127
    const hi = Math.floor(length / 0x1_0000_0000)
    const lo = length >>> 0
    // lengths are under 2^53, so `hi` has 21 bits: byte 2 is always 0, byte 3 holds bits 48 to 52
    out[2] = 0
    out[3] = (hi >>> 16) & 0xff
    out[4] = (hi >>> 8) & 0xff
    out[5] = hi & 0xff
    out[6] = lo >>> 24
    out[7] = (lo >>> 16) & 0xff
    out[8] = (lo >>> 8) & 0xff
    out[9] = lo & 0xff
    n = 10
  }
  if (mask !== undefined) {
    out[n] = mask[0]!
    out[n + 1] = mask[1]!
    out[n + 2] = mask[2]!
    out[n + 3] = mask[3]!
    n += 4
  }
  return n
}

/**
 * XORs `buf[start, end)` in place with `key` (4 bytes), starting at byte `phase` of the key, and returns
 * the phase after the last byte. Masking and unmasking are the same operation.
 */
export const mask = (buf: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): number => {
  let i = start
  let p = phase & 3
  // bytes up to the first 4-byte-aligned address
  while (i < end && ((buf.byteOffset + i) & 3) !== 0) {
    buf[i] ^= key[p]!
    p = (p + 1) & 3
    i++
  }
  const words = (end - i) >>> 2
  if (words > 0 && LITTLE_ENDIAN) {
    // the key as one word, rotated so that its byte `p` meets the first byte of the word
    const word = (key[p]! | (key[(p + 1) & 3]! << 8) | (key[(p + 2) & 3]! << 16) | (key[(p + 3) & 3]! << 24)) | 0
    const view = new Uint32Array(buf.buffer, buf.byteOffset + i, words)
    // unrolled four times: measured twice as fast as one word per turn under Bun and Node
    let w = 0
    for (; w + 4 <= words; w += 4) {
      view[w] ^= word
      view[w + 1] ^= word
      view[w + 2] ^= word
      view[w + 3] ^= word
    }
    for (; w < words; w++) view[w] ^= word
    i += words << 2
  }
  while (i < end) {
    buf[i] ^= key[p]!
    p = (p + 1) & 3
    i++
  }
  return p
}

/**
 * Mask keys from a pool of random bytes refilled 4 KiB at a time (one system call per 1,024 keys). One
 * pool serves every client connection of a carrier (a pool per connection would cost 4 KiB each).
 */
export class MaskKeys {
  private readonly pool = Buffer.allocUnsafe(4096)
  private offset = this.pool.length

  /** A fresh, unpredictable mask key (RFC 6455 §5.3), valid until the next call. */
  next(): Uint8Array {
    if (this.offset === this.pool.length) {
      randomFillSync(this.pool)
      this.offset = 0
    }
    const key = this.pool.subarray(this.offset, this.offset + 4)
    this.offset += 4
    return key
  }
}

/** What the decoder reports. */
export interface FrameHandler {
  /** payload bytes of a binary message (any part of one), unmasked; never empty */
  onData(payload: Buffer): void
  /** a complete control frame: Close, Ping or Pong, with its payload */
  onControl(opcode: number, payload: Buffer): void
  /** the peer broke the protocol; `code` is the close code to answer with. Nothing more is decoded. */
  onError(code: number, detail: string): void
}

const EMPTY = Buffer.alloc(0)

/**
 * A streaming frame decoder for one connection. `expectMasked` is true on the server (every client
 * frame must be masked) and false on the client (no server frame may be).
 */
export class FrameDecoder {
  /** a header that arrived split across chunks, so far */
  private carry: Buffer | undefined
  /** payload bytes left in the current frame */
  private remaining = 0
  private opcode = 0
  /** the current frame's mask key (`keyBytes`), or undefined for an unmasked frame */
  private key: Buffer | undefined
  private keyBytes: Buffer | undefined
  private phase = 0
  /** a fragmented binary message is open: continuations may come */
  private inMessage = false
  /** the final bit of the current frame */
  private fin = false
  /** a control payload that arrived split, so far */
  private control: Buffer | undefined
  private controlLength = 0
  private failed = false

  constructor(private readonly expectMasked: boolean, private readonly handler: FrameHandler) {}

  /** a frame has started and not ended, or a fragmented message is open */
  get midFrame(): boolean {
    return this.remaining > 0 || this.carry !== undefined || this.inMessage
  }

  /** Decodes `chunk`; false once the peer broke the protocol. */
  push(chunk: Buffer): boolean {
    let off = 0
    const len = chunk.length
    while (off < len && !this.failed) {
      if (this.remaining > 0) {
        off = this.payload(chunk, off)
        continue
      }
      off = this.header(chunk, off)
    }
    return !this.failed
  }

  private fail(code: number, detail: string): number {
    this.failed = true
    this.handler.onError(code, detail)
    return Infinity
  }

  /** Parses one header at `off` (joining a split one), starting its frame; returns the new offset. */
  private header(chunk: Buffer, off: number): number {
    let buf = chunk
    let start = off
    let carried = 0
    if (this.carry !== undefined) {
      carried = this.carry.length
      buf = Buffer.concat([this.carry, chunk.subarray(off, off + MAX_HEADER - carried)])
      start = 0
      this.carry = undefined
    }
    const avail = buf.length - start
    if (avail < 2) return this.keep(buf, start, chunk)
    const b0 = buf[start]!
    const b1 = buf[start + 1]!
    const len7 = b1 & 0x7f
    const masked = (b1 & 0x80) !== 0
    const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0)
    // validate from the first two bytes, before the header is whole, so garbage fails at once rather
    // than waiting for more; and the same way for a header that arrives whole, so the verdict does not
    // depend on where the chunks were cut
    const bad = this.validate(b0, masked, len7)
    if (bad !== undefined) return bad
    if (avail < size) return this.keep(buf, start, chunk)
    let length = len7
    let p = start + 2
    if (len7 === 126) {
      length = (buf[p]! << 8) | buf[p + 1]!
      p += 2
    } else if (len7 === 127) {
      const hi = buf.readUInt32BE(p)
      if (hi > 0x1f_ffff) return this.fail(CloseCode.ProtocolError, "frame length over 2^53")
      length = hi * 0x1_0000_0000 + buf.readUInt32BE(p + 4)
      p += 8
    }
    if (masked) {
      // one key buffer per connection, refilled per frame (no allocation per frame)
      const key = (this.keyBytes ??= Buffer.allocUnsafe(4))
      key[0] = buf[p]!
      key[1] = buf[p + 1]!
      key[2] = buf[p + 2]!
      key[3] = buf[p + 3]!
      this.key = key
      p += 4
    } else {
      this.key = undefined
    }
    this.phase = 0
    this.opcode = b0 & 0x0f
    this.fin = (b0 & 0x80) !== 0
    this.remaining = length
    // the offset in `chunk` where the payload starts
    const next = buf === chunk ? p : off + (p - carried)
    if (this.opcode >= 8) {
      this.control = undefined
      this.controlLength = 0
      if (length === 0) this.endControl(EMPTY)
    } else {
      if (this.opcode === Opcode.Binary) this.inMessage = !this.fin
      else if (this.fin) this.inMessage = false // a continuation
    }
    return next
  }

  /** Keeps a partial header; returns the end of `chunk`. */
  private keep(buf: Buffer, start: number, chunk: Buffer): number {
    this.carry = Buffer.from(buf.subarray(start))
    return chunk.length
  }

  /**
   * Checks a header's first byte, mask bit and 7-bit length; the offset to return if it is bad. A control
   * frame must have its length in the 7-bit form (at most 125, RFC 6455 §5.5, written in the shortest
   * form, §5.2), so 126 and 127 (a 16- or 64-bit length follows) refuse it whatever that length says.
   */
  private validate(b0: number, masked: boolean, len7: number): number | undefined {
    if ((b0 & 0x70) !== 0) return this.fail(CloseCode.ProtocolError, "reserved bits set (no extension was negotiated)")
    if (masked !== this.expectMasked) {
      return this.fail(CloseCode.ProtocolError, this.expectMasked ? "client frame not masked" : "server frame masked")
    }
    const opcode = b0 & 0x0f
    const fin = (b0 & 0x80) !== 0
    switch (opcode) {
      case Opcode.Binary:
        if (this.inMessage) return this.fail(CloseCode.ProtocolError, "new message inside a fragmented one")
        return undefined
      case Opcode.Continuation:
        if (!this.inMessage) return this.fail(CloseCode.ProtocolError, "continuation frame outside a message")
        return undefined
      case Opcode.Text:
        return this.fail(CloseCode.Unsupported, "text message (this tunnel speaks binary messages only)")
      case Opcode.Close:
      case Opcode.Ping:
      case Opcode.Pong:
        if (!fin) return this.fail(CloseCode.ProtocolError, "fragmented control frame")
        if (len7 > MAX_CONTROL) return this.fail(CloseCode.ProtocolError, "control frame over 125 bytes")
        return undefined
      default:
        return this.fail(CloseCode.ProtocolError, `reserved opcode ${opcode}`)
    }
  }

  /** Takes payload bytes of the current frame from `chunk` at `off`; returns the new offset. */
  private payload(chunk: Buffer, off: number): number {
    const take = Math.min(this.remaining, chunk.length - off)
    const end = off + take
    if (this.key !== undefined) this.phase = mask(chunk, off, end, this.key, this.phase)
    this.remaining -= take
    if (this.opcode < 8) {
      this.handler.onData(off === 0 && end === chunk.length ? chunk : chunk.subarray(off, end))
      return end
    }
    // control payloads are small: gather them whole
    if (this.remaining === 0 && this.control === undefined) {
      this.endControl(chunk.subarray(off, end))
      return end
    }
    this.control ??= Buffer.allocUnsafe(MAX_CONTROL)
    chunk.copy(this.control, this.controlLength, off, end)
    this.controlLength += take
    if (this.remaining === 0) this.endControl(this.control.subarray(0, this.controlLength))
    return end
  }

  private endControl(payload: Buffer): void {
    this.control = undefined
    this.controlLength = 0
    if (this.opcode === Opcode.Close && payload.length === 1) {
      this.fail(CloseCode.ProtocolError, "close frame with a 1-byte payload")
      return
    }
    this.handler.onControl(this.opcode, payload)
  }
}

/** The code of a Close payload (1005, "no status", when it has none). */
export const closeCode = (payload: Buffer): number => (payload.length >= 2 ? payload.readUInt16BE(0) : 1005)
