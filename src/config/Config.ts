/**
 * The typed configuration every other module reads: what `Load.ts` produces from a TOML file and what
 * the library's layers take directly when a program embeds a tunnel without any file.
 */
import type * as Redacted from "effect/Redacted"

/** Transport names the config grammar accepts; `Transports.ts` says which are implemented. */
export const transportNames = ["tcp", "tcpmux", "ws", "wss", "wsmux", "wssmux", "udp"] as const
export type TransportName = (typeof transportNames)[number]

export const logLevels = ["panic", "fatal", "error", "warn", "info", "debug", "trace"] as const
export type LogLevelName = (typeof logLevels)[number]

/** A `host:port` pair; `host` never carries IPv6 brackets. */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/**
 * One `ports` entry. A range listens on every port `from..to`; `targetPort` undefined means
 * "the same port the connection arrived on".
 */
export interface PortMapping {
  readonly source: string
  readonly bindHost: string
  readonly from: number
  readonly to: number
  readonly targetHost: string
  readonly targetPort: number | undefined
}

/** Options both roles share. Durations are in seconds, as in the TOML file. */
export interface CommonConfig {
  readonly transport: TransportName
  readonly token: Redacted.Redacted<string>
  readonly keepalive_period: number
  readonly nodelay: boolean
  readonly log_level: LogLevelName
  readonly mux_session: number
  /** mux transports: largest Data payload in bytes (the server's value is used by both sides) */
  readonly mux_framesize: number
  /** mux transports: the largest receive window one stream grows to, bytes */
  readonly mux_streambuffer: number
  /** mux transports: the most bytes all streams of one session may have in flight towards this side */
  readonly mux_recievebuffer: number
  readonly heartbeat: number
  /** seconds allowed for dialing a peer or target, and for a handshake to complete */
  readonly dial_timeout: number
  /** WebSocket transports: the HTTP path of the upgrade */
  readonly ws_path: string
  /** WebSocket transports: seconds between pings on every carrier connection */
  readonly ws_ping_interval: number
  /** seconds live connections get to finish after SIGTERM before the process exits */
  readonly drain_timeout: number
  /** reload when the config file changes (SIGHUP always reloads) */
  readonly watch_config: boolean
}

export interface ServerConfig extends CommonConfig {
  readonly role: "server"
  readonly bind_addr: HostPort
  readonly channel_size: number
  readonly connection_pool: number
  readonly ports: ReadonlyArray<PortMapping>
  /** wss, wssmux: the certificate chain (PEM file) */
  readonly tls_cert?: string | undefined
  /** wss, wssmux: its private key (PEM file) */
  readonly tls_key?: string | undefined
  /** WebSocket transports: peers whose X-Forwarded-For / X-Real-IP name the client (addresses, CIDR ranges) */
  readonly trusted_proxies: ReadonlyArray<string>
  /** how many clients with the token may be live at once (they share the user connections) */
  readonly max_clients: number
}

export interface ClientConfig extends CommonConfig {
  readonly role: "client"
  readonly remote_addr: HostPort
  readonly retry_interval: number
  /** server port → address the client dials instead of the server-chosen target */
  readonly forwarder: ReadonlyMap<number, HostPort>
  /** wss, wssmux: the CAs the server's certificate must chain to (PEM file); undefined: the system's */
  readonly tls_ca?: string | undefined
  /** wss, wssmux: SNI and the name checked, instead of remote_addr's host */
  readonly tls_server_name?: string | undefined
  /** wss, wssmux: connect without checking the certificate (warned at every connect) */
  readonly tls_insecure_skip_verify: boolean
  /** WebSocket transports: dial this address (a CDN edge) instead; Host and SNI stay remote_addr's */
  readonly edge_ip?: { readonly host: string; readonly port: number | undefined } | undefined
  /**
   * `HOST:PORTS` patterns limiting the targets the server may make this client dial (`forwarder` targets
   * are not checked); undefined: any target, as the Go tool does; empty: none
   */
  readonly allowed_targets?: ReadonlyArray<string> | undefined
}

export type AnyConfig = ServerConfig | ClientConfig

/** Formats a HostPort the way users write it (`[::1]:80` for IPv6). */
export const formatHostPort = ({ host, port }: HostPort): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
