/**
 * The backhaul wire format, version 3: every constant, message layout and status code lives here, encoded
 * and decoded by hand (pure functions, no I/O). See docs/protocol.md for the exchange as a whole.
 *
 * A control channel starts with a four-message handshake:
 *   client → server  ClientHello   magic(4) version(1) kind(1) transport(1) 0(1) clientNonce(32)      = 40 B
 *   server → client  ServerHello   magic(4) version(1) status(1) transport(1) 0(1) serverNonce(32)   = 40 B
 *   client → server  ClientProof   hmac(32) sessionId(16)                                            = 48 B
 *   server → client  ServerVerdict status(1) hmac(32) sessionId(16)                                  = 49 B
 * A data channel starts with one message, and every Connect the server sends on it proves the server:
 *   client → server  DataHello     magic(4) version(1) kind(1) transport(1) 0(1) sessionId(16)
 *                                  counter(8) hmac(32)                                               = 64 B
 * After that, frames: type(1) length(4, big-endian) payload(length ≤ MAX_FRAME).
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { TransportName } from "../config/Config.ts"

/** Opens every tunnel channel; anything else on the tunnel port is not a backhaul peer. */
export const MAGIC = Buffer.from("BKHL", "latin1")
/** The protocol version this build speaks; peers with another one get a clear error. */
export const VERSION = 3
export const NONCE_BYTES = 32
export const SESSION_ID_BYTES = 16
export const HMAC_BYTES = 32
export const HELLO_BYTES = 40
/** magic, version, kind, transport and a zero byte: what every channel's first message starts with */
export const HELLO_PREFIX_BYTES = 8
export const COUNTER_BYTES = 8
export const DATA_HELLO_BYTES = HELLO_PREFIX_BYTES + SESSION_ID_BYTES + COUNTER_BYTES + HMAC_BYTES
export const PROOF_BYTES = HMAC_BYTES + SESSION_ID_BYTES
export const VERDICT_BYTES = 1 + HMAC_BYTES + SESSION_ID_BYTES
export const FRAME_HEADER_BYTES = 5
/** Largest frame payload; a longer length is a protocol error on that channel only. */
export const MAX_FRAME = 64 * 1024

/** What a tunnel channel is for. */
export type ChannelKind = "control" | "data"
const kindCodes: Record<ChannelKind, number> = { control: 1, data: 2 }

const transportCodes: Record<TransportName, number> = {
  tcp: 1,
  tcpmux: 2,
  ws: 3,
  wss: 4,
  wsmux: 5,
  wssmux: 6,
  udp: 7
}

/** Handshake status codes, sent by the server. */
export const Status = {
  Ok: 0,
  VersionUnsupported: 1,
  TransportMismatch: 2,
  AuthFailed: 3,
  UnknownSession: 4,
  RateLimited: 5,
  /** `max_clients` other clients are live with this token */
  TooManyClients: 6
} as const
export type StatusCode = (typeof Status)[keyof typeof Status]

/** The one error type of the wire layer: what went wrong on one channel. */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  reason: Schema.Literal(
    "NotBackhaul",
    "Version",
    "TransportMismatch",
    "AuthFailed",
    "UnknownSession",
    "RateLimited",
    "TooManyClients",
    "Truncated",
    "Oversized",
    "Malformed",
    "Timeout",
    "Closed"
  ),
  detail: Schema.String
}) {
  get message() {
    return `${this.reason}: ${this.detail}`
  }
}

const fail = (reason: ProtocolError["reason"], detail: string) =>
  Either.left(new ProtocolError({ reason, detail }))

const nameOfTransport = (code: number): string =>
  (Object.keys(transportCodes) as Array<TransportName>).find((n) => transportCodes[n] === code) ??
    `unknown transport #${code}`

// ---------------------------------------------------------------------------------------------------------
// Handshake messages

export interface ClientHello {
  readonly version: number
  readonly kind: ChannelKind
  readonly transport: TransportName
  readonly nonce: Buffer
}

/**
 * A new hello message of `size` bytes with its 8-byte prefix written: magic, version, then the channel
 * kind (client) or the status (server), the transport, and a zero byte.
 */
const helloWithPrefix = (size: number, kindOrStatus: number, transport: TransportName): Buffer => {
  const buf = Buffer.alloc(size)
  MAGIC.copy(buf, 0)
  buf[4] = VERSION
  buf[5] = kindOrStatus
  buf[6] = transportCodes[transport]
  return buf
}

/** Writes a data-channel counter as 8 bytes big-endian (the top two always zero) at `offset`. */
export const writeCounter = (buf: Buffer, offset: number, counter: number): Buffer => {
  buf.writeUIntBE(counter, offset + 2, 6)
  return buf
}

export const encodeClientHello = (h: Omit<ClientHello, "version">): Buffer => {
  const buf = helloWithPrefix(HELLO_BYTES, kindCodes[h.kind], h.transport)
  h.nonce.copy(buf, HELLO_PREFIX_BYTES)
  return buf
}

/**
 * Decodes the first bytes of a channel. Checks magic before anything else so that an HTTP probe or a
 * port scanner is told apart from an old or newer backhaul.
 */
export const decodeClientHello = (
  buf: Buffer,
  expectedTransport: TransportName
): Either.Either<ClientHello, ProtocolError> => {
  if (buf.length < HELLO_BYTES) return fail("Truncated", `client hello is ${buf.length} of ${HELLO_BYTES} bytes`)
  return Either.map(
    decodeHelloPrefix(buf, expectedTransport),
    (kind) => ({ version: VERSION, kind, transport: expectedTransport, nonce: Buffer.from(buf.subarray(8, 40)) })
  )
}

/** Decodes the 8 bytes every channel starts with, to the channel kind. */
export const decodeHelloPrefix = (
  buf: Buffer,
  expectedTransport: TransportName
): Either.Either<ChannelKind, ProtocolError> => {
  if (buf.length < HELLO_PREFIX_BYTES) return fail("Truncated", `hello is ${buf.length} of ${HELLO_PREFIX_BYTES} bytes`)
  if (!buf.subarray(0, 4).equals(MAGIC)) return fail("NotBackhaul", describeForeign(buf))
  if (buf[4] !== VERSION) return fail("Version", `peer speaks protocol v${buf[4]}, this build speaks v${VERSION}`)
  const kind = buf[5] === 1 ? "control" : buf[5] === 2 ? "data" : undefined
  if (kind === undefined) return fail("Malformed", `unknown channel kind ${buf[5]}`)
  if (buf[6] !== transportCodes[expectedTransport]) {
    return fail(
      "TransportMismatch",
      `peer uses transport "${nameOfTransport(buf[6]!)}", this server uses "${expectedTransport}"`
    )
  }
  return Either.right(kind)
}

/** A data channel's only handshake message, after its prefix. */
export interface DataHello {
  readonly sessionId: Buffer
  /** per session, one higher for every data channel the client opens: a replay is refused */
  readonly counter: number
  readonly mac: Buffer
}

export const encodeDataHello = (transport: TransportName, h: DataHello): Buffer => {
  const buf = helloWithPrefix(DATA_HELLO_BYTES, kindCodes.data, transport)
  h.sessionId.copy(buf, HELLO_PREFIX_BYTES)
  writeCounter(buf, HELLO_PREFIX_BYTES + SESSION_ID_BYTES, h.counter)
  h.mac.copy(buf, HELLO_PREFIX_BYTES + SESSION_ID_BYTES + COUNTER_BYTES)
  return buf
}

/** Decodes what follows a data channel's prefix. */
export const decodeDataHelloBody = (buf: Buffer): Either.Either<DataHello, ProtocolError> => {
  const want = DATA_HELLO_BYTES - HELLO_PREFIX_BYTES
  if (buf.length < want) return fail("Truncated", `data hello is ${buf.length} of ${want} bytes`)
  if (buf.readUInt16BE(SESSION_ID_BYTES) !== 0) return fail("Malformed", "data channel counter out of range")
  return Either.right({
    sessionId: Buffer.from(buf.subarray(0, SESSION_ID_BYTES)),
    counter: buf.readUIntBE(SESSION_ID_BYTES + 2, 6),
    mac: Buffer.from(buf.subarray(SESSION_ID_BYTES + COUNTER_BYTES, want))
  })
}

/** Guesses what a non-backhaul peer sent, for a log line an operator can act on. */
export const describeForeign = (buf: Buffer): string => {
  const head = buf.subarray(0, 16).toString("latin1")
  if (/^(GET |POST|HEAD|PUT |OPTI|CONN|DELE|PATC|PRI )/.test(head)) return "peer sent an HTTP request"
  if (buf[0] === 0x16 && buf[1] === 0x03) return "peer sent a TLS handshake"
  if (head.startsWith("SSH-")) return "peer sent an SSH banner"
  return `peer sent ${JSON.stringify(head.replace(/[^\x20-\x7e]/g, "."))}, not the backhaul magic`
}

export interface ServerHello {
  readonly version: number
  readonly status: number
  readonly transport: number
  readonly nonce: Buffer
}

export const encodeServerHello = (status: StatusCode, transport: TransportName, nonce: Buffer): Buffer => {
  const buf = helloWithPrefix(HELLO_BYTES, status, transport)
  nonce.copy(buf, HELLO_PREFIX_BYTES)
  return buf
}

/** Decodes the server's hello, turning a refusal status into the error the user should read. */
export const decodeServerHello = (buf: Buffer): Either.Either<ServerHello, ProtocolError> => {
  if (buf.length < HELLO_BYTES) return fail("Truncated", `server hello is ${buf.length} of ${HELLO_BYTES} bytes`)
  if (!buf.subarray(0, 4).equals(MAGIC)) return fail("NotBackhaul", `server ${describeForeign(buf).replace(/^peer /, "")}`)
  const status = buf[5]!
  if (status === Status.VersionUnsupported || buf[4] !== VERSION) {
    return fail("Version", `server speaks protocol v${buf[4]}, this build speaks v${VERSION}`)
  }
  if (status === Status.TransportMismatch) {
    return fail("TransportMismatch", `server uses transport "${nameOfTransport(buf[6]!)}"; set the same transport on both sides`)
  }
  if (status === Status.RateLimited) return fail("RateLimited", "server refuses this address after repeated auth failures")
  if (status !== Status.Ok) return fail("Malformed", `server hello status ${status}`)
  return Either.right({ version: buf[4]!, status, transport: buf[6]!, nonce: Buffer.from(buf.subarray(8, 40)) })
}

export interface Proof {
  readonly mac: Buffer
  /** the client process's instance id (random per process, covered by the MAC): a reconnect names the same */
  readonly instance: Buffer
}

export const encodeProof = (p: Proof): Buffer => Buffer.concat([p.mac, p.instance])

export const decodeProof = (buf: Buffer): Either.Either<Proof, ProtocolError> =>
  buf.length < PROOF_BYTES
    ? fail("Truncated", `proof is ${buf.length} of ${PROOF_BYTES} bytes`)
    : Either.right({
      mac: Buffer.from(buf.subarray(0, HMAC_BYTES)),
      instance: Buffer.from(buf.subarray(HMAC_BYTES, PROOF_BYTES))
    })

export interface Verdict {
  readonly status: number
  readonly mac: Buffer
  readonly sessionId: Buffer
}

export const encodeVerdict = (v: Verdict): Buffer => Buffer.concat([Buffer.of(v.status), v.mac, v.sessionId])

export const decodeVerdict = (buf: Buffer): Either.Either<Verdict, ProtocolError> => {
  if (buf.length < VERDICT_BYTES) return fail("Truncated", `verdict is ${buf.length} of ${VERDICT_BYTES} bytes`)
  const status = buf[0]!
  if (status === Status.AuthFailed) return fail("AuthFailed", "server rejected the token (check `token` on both sides)")
  if (status === Status.UnknownSession) return fail("UnknownSession", "server no longer knows this session")
  if (status === Status.TooManyClients) {
    return fail("TooManyClients", "the server has max_clients clients with this token live already (raise max_clients on the server, or stop the other client)")
  }
  if (status !== Status.Ok) return fail("Malformed", `verdict status ${status}`)
  return Either.right({
    status,
    mac: Buffer.from(buf.subarray(1, 1 + HMAC_BYTES)),
    sessionId: Buffer.from(buf.subarray(1 + HMAC_BYTES, VERDICT_BYTES))
  })
}

// ---------------------------------------------------------------------------------------------------------
// Frames

/** Every message sent after the handshake. */
export type Frame =
  | {
    readonly _tag: "Welcome"
    readonly heartbeatMs: number
    /** pooled transports: data channels to keep ready; mux transports: sessions to keep open */
    readonly poolSize: number
    /** mux transports: the largest Data payload either side sends and accepts (0 for pooled ones) */
    readonly maxFrame: number
  }
  | { readonly _tag: "OpenData"; readonly count: number }
  | { readonly _tag: "Ping"; readonly sentAt: number }
  | { readonly _tag: "Goodbye"; readonly reason: string }
  | {
    readonly _tag: "Connect"
    readonly port: number
    readonly target: string
    /** which use of its data channel this is: 1, 2, … (a channel carries one connection after another) */
    readonly use: number
    readonly mac: Buffer
  }

const frameTypes = { Welcome: 1, OpenData: 2, Ping: 3, Goodbye: 4, Connect: 5 } as const

/**
 * The frames of a connection on a data channel, after its Connect: `Data` carries bytes (header, then a
 * streamed payload, never held whole), `End` says that direction is done. When both sides have sent `End`
 * the channel is free for the next Connect. Anything abnormal closes the channel instead.
 */
export const DATA_FRAME = 6
export const END_FRAME = 7
/** Largest Data payload a receiver accepts. */
export const MAX_DATA_FRAME = 16 * 1024 * 1024

/** The header of a Data frame of `length` bytes. */
export const dataHeader = (length: number): Buffer => writeDataHeader(Buffer.allocUnsafe(FRAME_HEADER_BYTES), length)

/** Writes a Data frame header for `length` payload bytes into `buf` (at least 5 bytes) and returns it. */
export const writeDataHeader = (buf: Buffer, length: number): Buffer => {
  buf[0] = DATA_FRAME
  buf.writeUInt32BE(length, 1)
  return buf
}

/** The End frame. */
export const endFrame: Buffer = Buffer.from([END_FRAME, 0, 0, 0, 0])

const frame = (type: number, payload: Buffer): Buffer => {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  buf[0] = type
  buf.writeUInt32BE(payload.length, 1)
  payload.copy(buf, FRAME_HEADER_BYTES)
  return buf
}

/** port, use and MAC, before a Connect's target */
const CONNECT_FIXED_BYTES = 2 + 4 + HMAC_BYTES

/** Encodes a frame, header included. */
export const encodeFrame = (f: Frame): Buffer => {
  switch (f._tag) {
    case "Welcome": {
      const p = Buffer.alloc(10)
      p.writeUInt32BE(f.heartbeatMs, 0)
      p.writeUInt16BE(f.poolSize, 4)
      p.writeUInt32BE(f.maxFrame, 6)
      return frame(frameTypes.Welcome, p)
    }
    case "OpenData": {
      const p = Buffer.alloc(2)
      p.writeUInt16BE(Math.min(f.count, 0xffff), 0)
      return frame(frameTypes.OpenData, p)
    }
    case "Ping": {
      const p = Buffer.alloc(8)
      p.writeDoubleBE(f.sentAt, 0)
      return frame(frameTypes.Ping, p)
    }
    case "Goodbye":
      return frame(frameTypes.Goodbye, Buffer.from(f.reason.slice(0, 1024), "utf8"))
    case "Connect": {
      const target = Buffer.from(f.target, "utf8")
      const p = Buffer.alloc(CONNECT_FIXED_BYTES + target.length)
      p.writeUInt16BE(f.port, 0)
      p.writeUInt32BE(f.use, 2)
      f.mac.copy(p, 6)
      target.copy(p, CONNECT_FIXED_BYTES)
      return frame(frameTypes.Connect, p)
    }
  }
}

/** Reads a frame header: the type byte and a payload length checked against MAX_FRAME. */
export const decodeFrameHeader = (
  buf: Buffer
): Either.Either<{ readonly type: number; readonly length: number }, ProtocolError> => {
  if (buf.length < FRAME_HEADER_BYTES) return fail("Truncated", `frame header is ${buf.length} of ${FRAME_HEADER_BYTES} bytes`)
  const length = buf.readUInt32BE(1)
  if (length > MAX_FRAME) return fail("Oversized", `frame of ${length} bytes exceeds the ${MAX_FRAME}-byte limit`)
  return Either.right({ type: buf[0]!, length })
}

/** Decodes a frame payload whose header was already read. */
export const decodeFramePayload = (type: number, p: Buffer): Either.Either<Frame, ProtocolError> => {
  const need = (n: number) => p.length < n ? fail("Truncated", `frame type ${type} needs ${n} bytes, got ${p.length}`) : undefined
  switch (type) {
    case frameTypes.Welcome:
      return need(10) ??
        Either.right({ _tag: "Welcome", heartbeatMs: p.readUInt32BE(0), poolSize: p.readUInt16BE(4), maxFrame: p.readUInt32BE(6) })
    case frameTypes.OpenData:
      return need(2) ?? Either.right({ _tag: "OpenData", count: p.readUInt16BE(0) })
    case frameTypes.Ping:
      return need(8) ?? Either.right({ _tag: "Ping", sentAt: p.readDoubleBE(0) })
    case frameTypes.Goodbye:
      return Either.right({ _tag: "Goodbye", reason: p.toString("utf8") })
    case frameTypes.Connect: {
      const short = need(CONNECT_FIXED_BYTES + 1)
      if (short) return short
      const port = p.readUInt16BE(0)
      if (port === 0) return fail("Malformed", "connect frame for port 0")
      return Either.right({
        _tag: "Connect",
        port,
        use: p.readUInt32BE(2),
        mac: p.subarray(6, 6 + HMAC_BYTES),
        target: p.subarray(CONNECT_FIXED_BYTES).toString("utf8")
      })
    }
    default:
      return fail("Malformed", `unknown frame type ${type}`)
  }
}

/** Decodes one whole frame from a buffer (header + payload); for tests and tools. */
export const decodeFrame = (buf: Buffer): Either.Either<Frame, ProtocolError> =>
  Either.flatMap(decodeFrameHeader(buf), ({ length, type }) =>
    buf.length < FRAME_HEADER_BYTES + length
      ? fail("Truncated", `frame needs ${length} payload bytes, got ${buf.length - FRAME_HEADER_BYTES}`)
      : decodeFramePayload(type, buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length)))
