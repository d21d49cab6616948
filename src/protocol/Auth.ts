/**
 * Challenge–response authentication: both sides prove they hold the token with HMAC-SHA256 over fresh
 * nonces from each side, so the token itself never crosses the wire and a recorded exchange cannot be
 * replayed (the other side's nonce is new every time).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"
import type { TransportName } from "../config/Config.ts"
import { NONCE_BYTES, SESSION_ID_BYTES, type ChannelKind } from "./Protocol.ts"

/** A fresh random nonce. */
export const nonce = (): Buffer => randomBytes(NONCE_BYTES)

/** A fresh random session id. */
export const newSessionId = (): Buffer => randomBytes(SESSION_ID_BYTES)

/** The all-zero session id a control channel sends before it has a session. */
export const NO_SESSION = Buffer.alloc(SESSION_ID_BYTES)

const mac = (token: Redacted.Redacted<string>, parts: ReadonlyArray<Buffer | string>): Buffer => {
  const h = createHmac("sha256", Redacted.value(token))
  for (const p of parts) h.update(p)
  return h.digest()
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
  mac(token, ["backhaul/1/client/", args.kind, "/", args.transport, args.clientNonce, args.serverNonce, args.sessionId])

/** What the server proves back, binding the session id it hands out. */
export const serverMac = (
  token: Redacted.Redacted<string>,
  args: { readonly clientNonce: Buffer; readonly serverNonce: Buffer; readonly sessionId: Buffer }
): Buffer => mac(token, ["backhaul/1/server/", args.clientNonce, args.serverNonce, args.sessionId])

/** Constant-time comparison of two MACs. */
export const macEquals = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b)
