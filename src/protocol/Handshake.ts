/**
 * Runs the v1 handshake on one channel, for either side. The deadline is the caller's (`Effect.timeout`
 * around these), so a silent peer never holds a socket for long.
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { Duplex } from "node:stream"
import type { TransportName } from "../config/Config.ts"
import { readExactly } from "../net/StreamReader.ts"
import * as Auth from "./Auth.ts"
import * as P from "./Protocol.ts"

/** Sends bytes on a channel; failures show up on the next read, where they are typed. */
export const send = (stream: Duplex, buf: Buffer): Effect.Effect<void> =>
  Effect.sync(() => {
    if (!stream.destroyed && stream.writable) stream.write(buf)
  })

/** What the client side needs to open a channel. */
export interface ClientParams {
  readonly token: Redacted.Redacted<string>
  readonly transport: TransportName
  readonly kind: P.ChannelKind
  /** the session a data channel joins; control channels send none */
  readonly sessionId?: Buffer
}

/** Client side: proves the token, checks the server's proof and returns the session id. */
export const client = (stream: Duplex, params: ClientParams): Effect.Effect<Buffer, P.ProtocolError> =>
  Effect.gen(function*() {
    const clientNonce = Auth.nonce()
    yield* send(stream, P.encodeClientHello({ kind: params.kind, transport: params.transport, nonce: clientNonce }))
    const hello = yield* Effect.flatMap(readExactly(stream, P.HELLO_BYTES), P.decodeServerHello)
    const sessionId = params.sessionId ?? Auth.NO_SESSION
    const mac = Auth.clientMac(params.token, {
      kind: params.kind,
      transport: params.transport,
      clientNonce,
      serverNonce: hello.nonce,
      sessionId
    })
    yield* send(stream, P.encodeProof({ mac, sessionId }))
    const verdict = yield* Effect.flatMap(readExactly(stream, P.VERDICT_BYTES), P.decodeVerdict)
    const expected = Auth.serverMac(params.token, {
      clientNonce,
      serverNonce: hello.nonce,
      sessionId: verdict.sessionId
    })
    if (!Auth.macEquals(expected, verdict.mac)) {
      return yield* new P.ProtocolError({
        reason: "AuthFailed",
        detail: "server could not prove it holds the token (wrong token on the server, or not our server)"
      })
    }
    if (params.kind === "data" && !verdict.sessionId.equals(sessionId)) {
      return yield* new P.ProtocolError({ reason: "UnknownSession", detail: "server bound the data channel elsewhere" })
    }
    return verdict.sessionId
  })

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

/**
 * Server side: checks magic, version and transport, verifies the client's proof in constant time, binds a
 * data channel to a live session, and hands a control channel a new session id. On a failed check the
 * client is told why (where that is safe) before the caller closes the channel.
 */
export const server = (stream: Duplex, params: ServerParams): Effect.Effect<Admitted, P.ProtocolError> =>
  Effect.gen(function*() {
    const serverNonce = Auth.nonce()
    // the magic alone first, so a peer speaking something else is refused without waiting for 40 bytes
    const magic = yield* readExactly(stream, P.MAGIC.length)
    if (!magic.equals(P.MAGIC)) {
      return yield* new P.ProtocolError({ reason: "NotBackhaul", detail: P.describeForeign(magic) })
    }
    const raw = Buffer.concat([magic, yield* readExactly(stream, P.HELLO_BYTES - P.MAGIC.length)])
    const hello = yield* P.decodeClientHello(raw, params.transport).pipe(
      Effect.tapError((e) =>
        e.reason === "Version"
          ? send(stream, P.encodeServerHello(P.Status.VersionUnsupported, params.transport, serverNonce))
          : e.reason === "TransportMismatch"
          ? send(stream, P.encodeServerHello(P.Status.TransportMismatch, params.transport, serverNonce))
          : Effect.void
      )
    )
    yield* send(stream, P.encodeServerHello(P.Status.Ok, params.transport, serverNonce))
    const proof = yield* Effect.flatMap(readExactly(stream, P.PROOF_BYTES), P.decodeProof)
    const expected = Auth.clientMac(params.token, {
      kind: hello.kind,
      transport: params.transport,
      clientNonce: hello.nonce,
      serverNonce,
      sessionId: proof.sessionId
    })
    const refuse = (status: P.StatusCode, error: P.ProtocolError) =>
      Effect.zipRight(
        send(stream, P.encodeVerdict({ status, mac: Buffer.alloc(P.HMAC_BYTES), sessionId: Auth.NO_SESSION })),
        Effect.fail(error)
      )
    if (!Auth.macEquals(expected, proof.mac)) {
      return yield* refuse(P.Status.AuthFailed, new P.ProtocolError({ reason: "AuthFailed", detail: "wrong token" }))
    }
    if (hello.kind === "data" && !params.isLiveSession(proof.sessionId)) {
      return yield* refuse(
        P.Status.UnknownSession,
        new P.ProtocolError({ reason: "UnknownSession", detail: "data channel for a session that is not live" })
      )
    }
    const sessionId = hello.kind === "control" ? Auth.newSessionId() : proof.sessionId
    const mac = Auth.serverMac(params.token, { clientNonce: hello.nonce, serverNonce, sessionId })
    yield* send(stream, P.encodeVerdict({ status: P.Status.Ok, mac, sessionId }))
    return { kind: hello.kind, sessionId }
  })

/** Reads one frame (header, then payload) from a channel. */
export const readFrame = (stream: Duplex): Effect.Effect<P.Frame, P.ProtocolError> =>
  Effect.flatMap(
    Effect.flatMap(readExactly(stream, P.FRAME_HEADER_BYTES), P.decodeFrameHeader),
    ({ length, type }) =>
      Effect.flatMap(
        length === 0 ? Effect.succeed(Buffer.alloc(0)) : readExactly(stream, length),
        (payload) => P.decodeFramePayload(type, payload)
      )
  )

/** Sends one frame. */
export const sendFrame = (stream: Duplex, frame: P.Frame): Effect.Effect<void> => send(stream, P.encodeFrame(frame))
