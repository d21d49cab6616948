/**
 * The multiplexer's wire format (docs/protocol.md, "Multiplexer"): one 12-byte header per frame,
 *   version(1) type(1) flags(2, big-endian) streamId(4) length(4)
 * followed, for Data only, by `length` payload bytes. Modelled on yamux (Data, WindowUpdate, Ping, GoAway;
 * SYN, ACK, FIN, RST), plus a session-wide credit: a WindowUpdate on stream 0.
 *
 * Pure functions over buffers; the session parses headers in place with `check`, so the hot path and the
 * tests share one validation.
 */

/** The multiplexer version this build speaks; a frame with another is a session error. */
export const VERSION = 1
export const HEADER_BYTES = 12

export const Type = { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 } as const
export type FrameType = (typeof Type)[keyof typeof Type]

export const Flag = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const
const ALL_FLAGS = Flag.SYN | Flag.ACK | Flag.FIN | Flag.RST

/** What every stream may send before its first WindowUpdate, and the session's credit before its own. */
export const INITIAL_WINDOW = 256 * 1024
/** The largest window (stream or session) a WindowUpdate may make: 2^31 - 1, as HTTP/2. */
export const MAX_WINDOW = 0x7fffffff
/** Ids the server may open (even, from 2); the top of the range ends a session (see `Session.open`). */
export const LAST_STREAM_ID = 0xfffffffe

/** GoAway codes. */
export const GoAway = { Normal: 0, ProtocolError: 1, InternalError: 2 } as const

/** A decoded header. */
export interface Header {
  readonly version: number
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly length: number
}

/** Writes a header into `buf` at `offset` and returns `buf`. */
export const writeHeader = (
  buf: Uint8Array,
  offset: number,
  type: FrameType,
  flags: number,
  streamId: number,
  length: number
): Uint8Array => {
  buf[offset] = VERSION
  buf[offset + 1] = type
  buf[offset + 2] = flags >>> 8
  buf[offset + 3] = flags & 0xff
  buf[offset + 4] = streamId >>> 24
  buf[offset + 5] = (streamId >>> 16) & 0xff
  buf[offset + 6] = (streamId >>> 8) & 0xff
  buf[offset + 7] = streamId & 0xff
  buf[offset + 8] = length >>> 24
  buf[offset + 9] = (length >>> 16) & 0xff
  buf[offset + 10] = (length >>> 8) & 0xff
  buf[offset + 11] = length & 0xff
  return buf
}

/** A new buffer holding one header (for frames written apart from their payload, or rare frames). */
export const header = (type: FrameType, flags: number, streamId: number, length: number): Buffer =>
  writeHeader(Buffer.allocUnsafe(HEADER_BYTES), 0, type, flags, streamId, length) as Buffer

/** Reads the header at `offset` (the caller has checked that 12 bytes are there). */
export const readHeader = (buf: Buffer, offset: number): Header => ({
  version: buf[offset]!,
  type: buf[offset + 1]!,
  flags: buf.readUInt16BE(offset + 2),
  streamId: buf.readUInt32BE(offset + 4),
  length: buf.readUInt32BE(offset + 8)
})

/**
 * Why a header is not acceptable from a peer, or undefined when it is. Stream-level rules (window
 * overflow, a SYN for an id in use) are the session's, since they need its state.
 */
export const check = (
  version: number,
  type: number,
  flags: number,
  streamId: number,
  length: number,
  maxFrame: number
): string | undefined => {
  if (version !== VERSION) return `multiplexer version ${version}, this build speaks ${VERSION}`
  if (type > Type.GoAway) return `unknown frame type ${type}`
  if ((flags & ~ALL_FLAGS) !== 0) return `unknown flags 0x${flags.toString(16)}`
  switch (type) {
    case Type.Data:
      if (length > maxFrame) return `data frame of ${length} bytes exceeds the ${maxFrame}-byte limit`
      if (streamId === 0) return "data frame on stream 0"
      return undefined
    case Type.WindowUpdate:
      if (length > MAX_WINDOW) return `window update of ${length} bytes`
      if (streamId === 0 && flags !== 0) return "flags on a session window update"
      return undefined
    case Type.Ping:
      return streamId !== 0 ? "ping on a stream" : undefined
    default:
      if (streamId !== 0) return "go-away on a stream"
      return length > GoAway.InternalError ? `unknown go-away code ${length}` : undefined
  }
}

/** `check` over a decoded header. */
export const checkHeader = (h: Header, maxFrame: number): string | undefined =>
  check(h.version, h.type, h.flags, h.streamId, h.length, maxFrame)
