/**
 * Runs the v2 handshake on one channel, for either side, and reads frames. Written as callbacks (the
 * per-connection path runs them directly, see `net/Callback.ts`), with Effect versions for the control
 * path. The deadline is the caller's (`net/Deadline.ts`), so a silent peer never holds a socket for long.
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import type { TransportName } from "../config/Config.ts"
import { type Cancel, type Done, toEffect } from "../net/Callback.ts"
import type { Conn } from "../net/Conn.ts"
import * as Auth from "./Auth.ts"
import * as ForeignServer from "./ForeignServer.ts"
import * as P from "./Protocol.ts"

/** Writes bytes on a channel; failures show up on the next read, where they are typed. */
export const write = (conn: Conn, buf: Buffer): void => {
  if (!conn.closed) conn.write(buf)
}

/** What the client side needs to open a control channel. */
export interface ClientParams {
  readonly token: Redacted.Redacted<string>
  readonly transport: TransportName
  /** this client process's instance id (16 bytes), the same on every reconnect */
  readonly instance: Buffer
}

/** What identifies one data channel of a session (and what its Connect is proven over). */
export interface DataChannelId {
  readonly sessionId: Buffer
  readonly counter: number
}

/**
 * Reads `n` bytes, decodes them, and hands the value on; a read or decode failure ends the exchange.
 * Keeps `current` pointing at whatever is pending so one Cancel stops the whole exchange.
 */
const step = <A>(
  conn: Conn,
  n: number,
  decode: (buf: Buffer) => Either.Either<A, P.ProtocolError>,
  done: Done<never, P.ProtocolError>,
  next: (value: A) => void
): Cancel =>
  conn.read(n, (error, buf) => {
    if (error) return done(error)
    const decoded = decode(buf!)
    if (Either.isLeft(decoded)) return done(decoded.left)
    next(decoded.right)
  })

/**
 * Client side of a control channel: proves the token, checks the server's proof, and calls back with
 * the new session's id.
 */
export const clientCb = (conn: Conn, params: ClientParams, done: Done<Buffer, P.ProtocolError>): Cancel => {
  const clientNonce = Auth.nonce()
  const kind = "control"
  write(conn, P.encodeClientHello({ kind, transport: params.transport, nonce: clientNonce }))
  let current = readServerHello(conn, done, (hello) => {
    const mac = Auth.clientMac(params.token, {
      kind,
      transport: params.transport,
      clientNonce,
      serverNonce: hello.nonce,
      sessionId: params.instance
    })
    write(conn, P.encodeProof({ mac, instance: params.instance }))
    current = step(conn, P.VERDICT_BYTES, P.decodeVerdict, done, (verdict) => {
      const expected = Auth.serverMac(params.token, { clientNonce, serverNonce: hello.nonce, sessionId: verdict.sessionId })
      if (!Auth.macEquals(expected, verdict.mac)) {
        return done(
          new P.ProtocolError({
            reason: "AuthFailed",
            detail: "server could not prove it holds the token (wrong token on the server, or not our server)"
          })
        )
      }
      done(undefined, verdict.sessionId)
    })
  })
  return () => current()
}

/** Why a server may close before saying anything. */
const silentClose = "not a backhaul server, or a TLS one (is the server's transport wss?)"

/**
 * Reads the server's hello. Its first bytes come one at a time until they are the magic or are not,
 * so a peer that is not a backhaul server is named for what it sent (HTTP, TLS, SSH) even when it
 * closes before the 40 bytes of a hello. Once per control session: the single-byte reads cost nothing.
 */
const readServerHello = (
  conn: Conn,
  done: Done<never, P.ProtocolError>,
  next: (hello: P.ServerHello) => void
): Cancel => {
  const head = Buffer.alloc(Math.max(P.MAGIC.length, ForeignServer.SNIFF_BYTES))
  let got = 0
  let foreign = false
  const notBackhaul = () =>
    done(new P.ProtocolError({ reason: "NotBackhaul", detail: ForeignServer.describe(head.subarray(0, got)) }))
  const more = (): Cancel =>
    conn.read(1, (error, byte) => {
      if (error) {
        // closed (or reset) part way: what came is all there is to judge by
        if (foreign) return notBackhaul()
        // a TLS server (what wss runs) closes on a plain-text hello without a word
        if (got === 0) {
          return done(new P.ProtocolError({ reason: error.reason, detail: `${error.detail} before its hello: ${silentClose}` }))
        }
        return done(new P.ProtocolError({ reason: "Truncated", detail: `server closed after ${got} of ${P.HELLO_BYTES} bytes of its hello` }))
      }
      head[got] = byte![0]!
      if (!foreign && head[got] !== P.MAGIC[got]) foreign = true
      got++
      if (foreign) return got < ForeignServer.SNIFF_BYTES ? (current = more()) : notBackhaul()
      if (got < P.MAGIC.length) return (current = more())
      current = conn.read(P.HELLO_BYTES - P.MAGIC.length, (error, rest) => {
        if (error) return done(error)
        const hello = P.decodeServerHello(Buffer.concat([head.subarray(0, P.MAGIC.length), rest!]))
        Either.isLeft(hello) ? done(hello.left) : next(hello.right)
      })
    })
  let current = more()
  return () => current()
}

/** What the server side needs to admit a channel. */
export interface ServerParams {
  readonly token: Redacted.Redacted<string>
  readonly transport: TransportName
  /**
   * Admits a data channel of `sessionId` numbered `counter`: "unknown" when that session is not live,
   * "replayed" when the counter was seen (or is too old to tell).
   */
  readonly admitData: (channel: DataChannelId) => "ok" | "unknown" | "replayed"
  /** Whether a control session of client `instance` may start (`max_clients`), asked before the verdict. */
  readonly admitControl: (instance: Buffer) => true | "TooManyClients"
}

/** A channel the server admitted: a control channel (with its new session) or a data channel. */
export type Admitted =
  | { readonly kind: "control"; readonly sessionId: Buffer; readonly instance: Buffer }
  | { readonly kind: "data"; readonly sessionId: Buffer; readonly counter: number }

const checkMagic = (magic: Buffer): Either.Either<Buffer, P.ProtocolError> =>
  magic.equals(P.MAGIC)
    ? Either.right(magic)
    : Either.left(new P.ProtocolError({ reason: "NotBackhaul", detail: P.describeForeign(magic) }))

/**
 * Server side: checks magic (alone first, so a peer speaking something else is refused without waiting
 * for more), version and transport, then runs the control handshake or admits a data channel. On a
 * failed check the client is told why (where that is safe) before the caller closes the channel.
 */
export const serverCb = (conn: Conn, params: ServerParams, done: Done<Admitted, P.ProtocolError>): Cancel => {
  let current = step(conn, P.MAGIC.length, checkMagic, done, (magic) => {
    current = conn.read(P.HELLO_PREFIX_BYTES - P.MAGIC.length, (error, rest) => {
      if (error) return done(error)
      const decoded = P.decodeHelloPrefix(Buffer.concat([magic, rest!]), params.transport)
      if (Either.isLeft(decoded)) {
        const e = decoded.left
        const refusal = e.reason === "Version"
          ? P.Status.VersionUnsupported
          : e.reason === "TransportMismatch"
          ? P.Status.TransportMismatch
          : undefined
        if (refusal !== undefined) write(conn, P.encodeServerHello(refusal, params.transport, Auth.NO_NONCE))
        return done(e)
      }
      current = decoded.right === "control" ? serverControl(conn, params, done) : serverData(conn, params, done)
    })
  })
  return () => current()
}

/** The rest of a control channel's handshake, after its prefix. */
const serverControl = (conn: Conn, params: ServerParams, done: Done<Admitted, P.ProtocolError>): Cancel => {
  const serverNonce = Auth.nonce()
  let current = conn.read(P.NONCE_BYTES, (error, clientNonce) => {
    if (error) return done(error)
    write(conn, P.encodeServerHello(P.Status.Ok, params.transport, serverNonce))
    current = step(conn, P.PROOF_BYTES, P.decodeProof, done, (proof) => {
      const expected = Auth.clientMac(params.token, {
        kind: "control",
        transport: params.transport,
        clientNonce: clientNonce!,
        serverNonce,
        sessionId: proof.instance
      })
      if (!Auth.macEquals(expected, proof.mac)) {
        write(conn, P.encodeVerdict({ status: P.Status.AuthFailed, mac: Buffer.alloc(P.HMAC_BYTES), sessionId: Auth.NO_SESSION }))
        return done(new P.ProtocolError({ reason: "AuthFailed", detail: "wrong token" }))
      }
      const allowed = params.admitControl(proof.instance)
      if (allowed !== true) {
        write(conn, P.encodeVerdict({ status: P.Status.TooManyClients, mac: Buffer.alloc(P.HMAC_BYTES), sessionId: Auth.NO_SESSION }))
        return done(new P.ProtocolError({ reason: "TooManyClients", detail: "max_clients clients are live already" }))
      }
      const sessionId = Auth.newSessionId()
      const mac = Auth.serverMac(params.token, { clientNonce: clientNonce!, serverNonce, sessionId })
      write(conn, P.encodeVerdict({ status: P.Status.Ok, mac, sessionId }))
      done(undefined, { kind: "control", sessionId, instance: proof.instance })
    })
  })
  return () => current()
}

/**
 * The rest of a data channel's hello: the proof over session and counter. Nothing is sent back; a
 * refused channel is just closed (its session is gone, or it is a forgery or a replay).
 */
const serverData = (conn: Conn, params: ServerParams, done: Done<Admitted, P.ProtocolError>): Cancel =>
  step(conn, P.DATA_HELLO_BYTES - P.HELLO_PREFIX_BYTES, P.decodeDataHelloBody, done, (hello) => {
    const expected = Auth.dataMac(params.token, { transport: params.transport, ...hello })
    if (!Auth.macEquals(expected, hello.mac)) {
      return done(new P.ProtocolError({ reason: "AuthFailed", detail: "wrong token on a data channel" }))
    }
    const verdict = params.admitData(hello)
    if (verdict === "unknown") {
      return done(new P.ProtocolError({ reason: "UnknownSession", detail: "data channel for a session that is not live" }))
    }
    if (verdict === "replayed") {
      return done(new P.ProtocolError({ reason: "AuthFailed", detail: `data channel #${hello.counter} was replayed` }))
    }
    done(undefined, { kind: "data", sessionId: hello.sessionId, counter: hello.counter })
  })

/** Client side of a data channel: its one message. */
export const dataHello = (conn: Conn, token: Redacted.Redacted<string>, transport: TransportName, id: DataChannelId) =>
  write(conn, P.encodeDataHello(transport, { ...id, mac: Auth.dataMac(token, { transport, ...id }) }))

/** The Connect for use `use` of data channel `id`, proven with the token. */
export const connectFrame = (
  token: Redacted.Redacted<string>,
  id: DataChannelId,
  use: number,
  port: number,
  target: string
): P.Frame => ({ _tag: "Connect", port, target, use, mac: Auth.connectMac(token, { ...id, use, port, target }) })

/**
 * Whether a Connect received on data channel `id` came from a server holding the token, for the use the
 * client expects next (an old Connect replayed on the channel does not verify).
 */
export const connectIsGenuine = (
  token: Redacted.Redacted<string>,
  id: DataChannelId,
  use: number,
  frame: { readonly port: number; readonly target: string; readonly use: number; readonly mac: Buffer }
): boolean =>
  frame.use === use &&
  Auth.macEquals(Auth.connectMac(token, { ...id, use, port: frame.port, target: frame.target }), frame.mac)

/** Reads one frame (header, then payload) and calls back. */
export const readFrameCb = (conn: Conn, done: Done<P.Frame, P.ProtocolError>): Cancel => {
  let current = step(conn, P.FRAME_HEADER_BYTES, P.decodeFrameHeader, done, ({ length, type }) => {
    const decode = (payload: Buffer) => {
      const frame = P.decodeFramePayload(type, payload)
      return Either.isLeft(frame) ? done(frame.left) : done(undefined, frame.right)
    }
    if (length === 0) return decode(Buffer.alloc(0))
    current = conn.read(length, (error, payload) => (error ? done(error) : decode(payload!)))
  })
  return () => current()
}

/** Client side of the handshake as an Effect. */
export const client = (conn: Conn, params: ClientParams): Effect.Effect<Buffer, P.ProtocolError> =>
  toEffect((done) => clientCb(conn, params, done))

/** Server side of the handshake as an Effect. */
export const server = (conn: Conn, params: ServerParams): Effect.Effect<Admitted, P.ProtocolError> =>
  toEffect((done) => serverCb(conn, params, done))

/** Reads one frame as an Effect. */
export const readFrame = (conn: Conn): Effect.Effect<P.Frame, P.ProtocolError> =>
  toEffect((done) => readFrameCb(conn, done))

/** Sends one frame. */
export const sendFrame = (conn: Conn, frame: P.Frame): void => write(conn, P.encodeFrame(frame))
