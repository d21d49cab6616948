/**
 * Challenge–response authentication: both sides prove they hold the token with HMAC-SHA256 over fresh
 * nonces from each side, so the token itself never crosses the wire and a recorded exchange cannot be
 * replayed (the other side's nonce is new every time). Data channels prove the token over the live
 * session id and a per-session counter the server accepts once; the server proves itself in the Connect
 * it sends on that channel.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"
import type { TransportName } from "../config/Config.ts"
import { COUNTER_BYTES, NONCE_BYTES, SESSION_ID_BYTES, type ChannelKind, writeCounter } from "./Protocol.ts"

/** A fresh random nonce. */
export const nonce = (): Buffer => randomBytes(NONCE_BYTES)

/** The all-zero nonce of a refusal, which proves nothing. */
export const NO_NONCE = Buffer.alloc(NONCE_BYTES)

/** A fresh random session id. */
export const newSessionId = (): Buffer => randomBytes(SESSION_ID_BYTES)

/** The all-zero session id a control channel sends before it has a session. */
export const NO_SESSION = Buffer.alloc(SESSION_ID_BYTES)

/** HMAC-SHA256 of `input`: Bun's native hasher where there is one (several times cheaper), else node:crypto. */
const hmacSha256: (key: string, input: Buffer) => Buffer = (() => {
  const Hasher = (globalThis as { Bun?: { CryptoHasher?: BunHasher } }).Bun?.CryptoHasher
  return Hasher
    ? (key, input) => new Hasher("sha256", key).update(input).digest()
    : (key, input) => createHmac("sha256", key).update(input).digest()
})()

type BunHasher = new(algorithm: string, key: string) => { update(data: Buffer): { digest(): Buffer } }

const mac = (token: Redacted.Redacted<string>, parts: ReadonlyArray<Buffer | string>): Buffer => {
  // one update of the joined input (each update is a call into native code), joined in one buffer
  let size = 0
  for (const p of parts) size += typeof p === "string" ? Buffer.byteLength(p, "utf8") : p.length
  const input = Buffer.allocUnsafe(size)
  let at = 0
  for (const p of parts) at += typeof p === "string" ? input.write(p, at, "utf8") : p.copy(input, at)
  return hmacSha256(Redacted.value(token), input)
}

/** What the client proves: it knows the token, for this channel kind, transport and both nonces. */
export const clientMac = (
  token: Redacted.Redacted<string>,
  args: {
    readonly kind: ChannelKind
    readonly transport: TransportName
    readonly clientNonce: Buffer
    readonly serverNonce: Buffer
    readonly sessionId: Buffer
  }
): Buffer =>
  mac(token, ["backhaul/2/client/", args.kind, "/", args.transport, args.clientNonce, args.serverNonce, args.sessionId])

/** What the server proves back, binding the session id it hands out. */
export const serverMac = (
  token: Redacted.Redacted<string>,
  args: { readonly clientNonce: Buffer; readonly serverNonce: Buffer; readonly sessionId: Buffer }
): Buffer => mac(token, ["backhaul/2/server/", args.clientNonce, args.serverNonce, args.sessionId])

const counterBytes = (counter: number): Buffer => writeCounter(Buffer.alloc(COUNTER_BYTES), 0, counter)

/** What a data channel's client proves: the token, for this transport, session and counter. */
export const dataMac = (
  token: Redacted.Redacted<string>,
  args: { readonly transport: TransportName; readonly sessionId: Buffer; readonly counter: number }
): Buffer => mac(token, ["backhaul/2/data/", args.transport, "/", args.sessionId, counterBytes(args.counter)])

/** What the server proves in a data channel's Connect: the token, for this channel and this target. */
export const connectMac = (
  token: Redacted.Redacted<string>,
  args: {
    readonly sessionId: Buffer
    readonly counter: number
    readonly use: number
    readonly port: number
    readonly target: string
  }
): Buffer => {
  const fixed = writeCounter(Buffer.alloc(COUNTER_BYTES + 6), 0, args.counter)
  fixed.writeUInt16BE(args.port, COUNTER_BYTES)
  fixed.writeUInt32BE(args.use, COUNTER_BYTES + 2)
  return mac(token, ["backhaul/2/connect/", args.sessionId, fixed, args.target])
}

/** Constant-time comparison of two MACs. */
export const macEquals = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b)
