/**
 * The WebSocket carrier (`ws`, and `wss` with TLS under it): every carrier connection is one WebSocket
 * over its own TCP (or TLS) connection. The server answers upgrades under `ws_path` and refuses
 * everything else with an HTTP error; the client dials the server (or a CDN edge, `edge_ip`) with the
 * server's name as `Host` and SNI. Each connection is pinged by the carrier's `Pinger`, so proxies that
 * cut idle connections keep ours and a dead peer is noticed.
 *
 * The framing is ours, over `Conn` (see docs/benchmarks.md, "WebSocket implementation"): it runs on the
 * same fast socket backend as `tcp` in every runtime and keeps `Conn`'s backpressure end to end.
 */
import { formatHostPort, type HostPort } from "../../config/Config.ts"
import type { Cancel } from "../../net/Callback.ts"
import type { Peer, SocketOptions, TlsClientOptions, TlsServerOptions } from "../../net/Conn.ts"
import { deadline } from "../../net/Deadline.ts"
import * as TlsContext from "../../net/TlsContext.ts"
import { Network, type NetworkShape, type SocketError } from "../../net/Network.ts"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Carrier, type CarrierShape, fromSocketError, TransportError } from "../Transport.ts"
import { Pinger } from "./Pinger.ts"
import type { TrustedProxies } from "./TrustedProxies.ts"
import * as Upgrade from "./Upgrade.ts"
import { MaskKeys } from "./Frame.ts"
import { WsConn } from "./WsConn.ts"

export interface WsCarrierOptions {
  /** "ws" or "wss" (for logs) */
  readonly name: string
  /** the path upgrades are sent to and answered under (`ws_path`) */
  readonly path: string
  /** seconds between WebSocket pings on every connection */
  readonly pingSeconds: number
  readonly keepaliveSeconds: number
  /** dialing, TLS and the upgrade each get this long */
  readonly dialTimeoutSeconds: number
  /** server: proxies whose forwarded-for headers are believed */
  readonly trusted: TrustedProxies
  /** server: TLS under the WebSocket */
  readonly tlsServer?: TlsServerOptions | undefined
  /** client: TLS under the WebSocket */
  readonly tlsClient?: TlsClientOptions | undefined
  /** client: the address dialed instead of the server's (a CDN edge); `Host` and SNI stay the server's */
  readonly edge?: HostPort | undefined
  /** client: called at every connect made without certificate verification */
  readonly warnInsecure?: ((message: string) => void) | undefined
}

/** TLS verification failures, as `node:tls` codes them. */
const certificateCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID"
])

const fromSocket = (e: SocketError): TransportError => {
  if (e.code !== undefined && certificateCodes.has(e.code)) {
    const fix = e.code === "ERR_TLS_CERT_ALTNAME_INVALID"
      ? "set tls_server_name to a name the certificate carries"
      : "set tls_ca to the file of the CA (or the self-signed certificate) that signed the server's certificate"
    return new TransportError({
      reason: "Handshake",
      address: e.address,
      detail: `server certificate rejected: ${e.detail} (${e.code}); ${fix}, or tls_insecure_skip_verify = true to skip the check (insecure)`,
      cause: e
    })
  }
  return fromSocketError(e)
}

/** `Host` for an address: brackets for IPv6, the port unless it is the scheme's default. */
const hostHeader = (address: HostPort, defaultPort: number): string => {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host
  return address.port === defaultPort ? host : `${host}:${address.port}`
}

/** Builds a WebSocket carrier on `network`. */
export const make = (options: WsCarrierOptions, network: NetworkShape): CarrierShape => {
  const pinger = new Pinger(options.pingSeconds * 1000)
  const keys = new MaskKeys()
  const timeoutMillis = options.dialTimeoutSeconds * 1000
  const base = { nodelay: true, keepaliveSeconds: options.keepaliveSeconds }
  const listenSocket: SocketOptions = options.tlsServer === undefined ? base : { ...base, tls: options.tlsServer }
  // the trust store is parsed once per carrier, not per dial
  const tlsClient = options.tlsClient === undefined
    ? undefined
    : { ...options.tlsClient, context: options.tlsClient.context ?? TlsContext.client(options.tlsClient.ca) }
  const dialSocket: SocketOptions = tlsClient === undefined ? base : { ...base, tls: tlsClient }
  const serverOptions: Upgrade.ServerOptions = { path: options.path, trusted: options.trusted }
  const upgradeTimeout = (): Upgrade.UpgradeError => ({ status: undefined, detail: `no WebSocket upgrade within ${options.dialTimeoutSeconds}s` })

  return {
    name: options.name,
    listen: (address, onChannel, owner) =>
      Effect.mapError(
        network.listen(address, listenSocket, (conn) => {
          deadline<Peer | undefined, Upgrade.UpgradeError, Upgrade.UpgradeError>(
            conn,
            timeoutMillis,
            upgradeTimeout,
            (done) => Upgrade.accept(conn, serverOptions, done)
          )(
            (error, forwarded) => {
              // a refusal has been answered and the socket closed; a browser or scanner is no event
              if (error) return
              const ws = new WsConn(conn, undefined, forwarded)
              pinger.add(ws)
              onChannel(ws)
            }
          )
        }, owner),
        fromSocket
      ),
    open: (address, done) => {
      const dialed = options.edge ?? address
      const where = formatHostPort(address)
      const clientOptions: Upgrade.ClientOptions = {
        host: hostHeader(address, options.tlsClient === undefined ? 80 : 443),
        path: options.path
      }
      let settled = false
      let cancel: Cancel = network.connect(dialed, dialSocket, options.dialTimeoutSeconds, (error, conn) => {
        if (error) return done(fromSocket(error))
        if (options.tlsClient !== undefined && !options.tlsClient.verify) {
          options.warnInsecure?.(
            `connected to ${where} WITHOUT checking its certificate (tls_insecure_skip_verify = true): anyone on the path can read and change the tunnel`
          )
        }
        cancel = deadline<void, Upgrade.UpgradeError, Upgrade.UpgradeError>(
          conn!,
          timeoutMillis,
          upgradeTimeout,
          (d) => Upgrade.request(conn!, clientOptions, d)
        )(
          (failure) => {
            settled = true
            if (failure) {
              conn!.destroy()
              return done(new TransportError({ reason: "Handshake", address: where, detail: failure.detail }))
            }
            const ws = new WsConn(conn!, keys, undefined)
            pinger.add(ws)
            done(undefined, ws)
          }
        )
        const stop = cancel
        cancel = () => {
          // once settled the connection is the caller's (or gone): cancelling no longer touches it
          if (settled) return
          stop()
          conn!.destroy()
        }
      })
      return () => cancel()
    }
  }
}

/** A WebSocket carrier as a layer, on the `Network` it is given. */
export const layer = (options: WsCarrierOptions): Layer.Layer<Carrier, never, Network> =>
  Layer.effect(Carrier, Effect.map(Network, (network) => make(options, network)))
