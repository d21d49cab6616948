/**
 * Runs the v1 handshake on one channel, for either side, and reads frames. Written as callbacks (the
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
import * as P from "./Protocol.ts"

/** Writes bytes on a channel; failures show up on the next read, where they are typed. */
export const write = (conn: Conn, buf: Buffer): void => {
  if (!conn.closed) conn.write(buf)
}

/** What the client side needs to open a channel. */
export interface ClientParams {
  readonly token: Redacted.Redacted<string>
  readonly transport: TransportName
  readonly kind: P.ChannelKind
  /** the session a data channel joins; control channels send none */
  readonly sessionId?: Buffer
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

/** Client side: proves the token, checks the server's proof, and calls back with the session id. */
export const clientCb = (conn: Conn, params: ClientParams, done: Done<Buffer, P.ProtocolError>): Cancel => {
  const clientNonce = Auth.nonce()
  const sessionId = params.sessionId ?? Auth.NO_SESSION
  write(conn, P.encodeClientHello({ kind: params.kind, transport: params.transport, nonce: clientNonce }))
  let current = step(conn, P.HELLO_BYTES, P.decodeServerHello, done, (hello) => {
    const mac = Auth.clientMac(params.token, {
      kind: params.kind,
      transport: params.transport,
      clientNonce,
      serverNonce: hello.nonce,
      sessionId
    })
    write(conn, P.encodeProof({ mac, sessionId }))
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
      if (params.kind === "data" && !verdict.sessionId.equals(sessionId)) {
        return done(new P.ProtocolError({ reason: "UnknownSession", detail: "server bound the data channel elsewhere" }))
      }
      done(undefined, verdict.sessionId)
    })
  })
  return () => current()
}

/** What the server side needs to admit a channel. */
export interface ServerParams {
  readonly token: Redacted.Redacted<string>
  readonly transport: TransportName
  /** whether a data channel's session id names the live session */
  readonly isLiveSession: (sessionId: Buffer) => boolean
}

/** A channel the server admitted. */
export interface Admitted {
  readonly kind: P.ChannelKind
  readonly sessionId: Buffer
}

const checkMagic = (magic: Buffer): Either.Either<Buffer, P.ProtocolError> =>
  magic.equals(P.MAGIC)
    ? Either.right(magic)
    : Either.left(new P.ProtocolError({ reason: "NotBackhaul", detail: P.describeForeign(magic) }))

/**
 * Server side: checks magic (alone first, so a peer speaking something else is refused without waiting
 * for 40 bytes), version and transport; verifies the client's proof in constant time; binds a data
 * channel to a live session and hands a control channel a new session id. On a failed check the client
 * is told why (where that is safe) before the caller closes the channel.
 */
export const serverCb = (conn: Conn, params: ServerParams, done: Done<Admitted, P.ProtocolError>): Cancel => {
  const serverNonce = Auth.nonce()
  const refuse = (status: P.StatusCode, error: P.ProtocolError) => {
    write(conn, P.encodeVerdict({ status, mac: Buffer.alloc(P.HMAC_BYTES), sessionId: Auth.NO_SESSION }))
    done(error)
  }
  let current = step(conn, P.MAGIC.length, checkMagic, done, (magic) => {
    current = conn.read(P.HELLO_BYTES - P.MAGIC.length, (error, rest) => {
      if (error) return done(error)
      const decoded = P.decodeClientHello(Buffer.concat([magic, rest!]), params.transport)
      if (Either.isLeft(decoded)) {
        const e = decoded.left
        if (e.reason === "Version") write(conn, P.encodeServerHello(P.Status.VersionUnsupported, params.transport, serverNonce))
        if (e.reason === "TransportMismatch") {
          write(conn, P.encodeServerHello(P.Status.TransportMismatch, params.transport, serverNonce))
        }
        return done(e)
      }
      const hello = decoded.right
      write(conn, P.encodeServerHello(P.Status.Ok, params.transport, serverNonce))
      current = step(conn, P.PROOF_BYTES, P.decodeProof, done, (proof) => {
        const expected = Auth.clientMac(params.token, {
          kind: hello.kind,
          transport: params.transport,
          clientNonce: hello.nonce,
          serverNonce,
          sessionId: proof.sessionId
        })
        if (!Auth.macEquals(expected, proof.mac)) {
          return refuse(P.Status.AuthFailed, new P.ProtocolError({ reason: "AuthFailed", detail: "wrong token" }))
        }
        if (hello.kind === "data" && !params.isLiveSession(proof.sessionId)) {
          return refuse(
            P.Status.UnknownSession,
            new P.ProtocolError({ reason: "UnknownSession", detail: "data channel for a session that is not live" })
          )
        }
        const sessionId = hello.kind === "control" ? Auth.newSessionId() : proof.sessionId
        const mac = Auth.serverMac(params.token, { clientNonce: hello.nonce, serverNonce, sessionId })
        write(conn, P.encodeVerdict({ status: P.Status.Ok, mac, sessionId }))
        done(undefined, { kind: hello.kind, sessionId })
      })
    })
  })
  return () => current()
}

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
