/**
 * The WebSocket opening handshake (RFC 6455 §4), both sides. The server answers only a proper upgrade
 * under its path; anything else gets a short HTTP error and is closed (never left hanging), so a scanner,
 * a browser or a health check sees an ordinary web server. No token travels here: authentication is
 * the tunnel's own challenge–response inside the WebSocket.
 */
import { createHash, randomBytes } from "node:crypto"
import type { Cancel, Done } from "../../net/Callback.ts"
import type { Conn, Peer } from "../../net/Conn.ts"
import * as HttpHead from "./HttpHead.ts"
import { forwardedPeer, type TrustedProxies } from "./TrustedProxies.ts"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** `Sec-WebSocket-Accept` for a key. */
export const acceptFor = (key: string): string => createHash("sha1").update(key + GUID).digest("base64")

/** A browser's User-Agent: filtering middleboxes single out unusual ones. */
export const USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

/** Why an upgrade failed: `status` is the HTTP status the server answered (or got), when there was one. */
export interface UpgradeError {
  readonly status: number | undefined
  readonly detail: string
}

export interface ServerOptions {
  /** the request path answered (`ws_path`) */
  readonly path: string
  readonly trusted: TrustedProxies
}

const reasons: Readonly<Record<number, string>> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large"
}

/** Answers `status` with a short text body and closes once it is out. */
const refuse = (conn: Conn, status: number, detail: string, extra = ""): UpgradeError => {
  const body = `${reasons[status]}\n`
  conn.write(Buffer.from(
    `HTTP/1.1 ${status} ${reasons[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
      `${extra}Connection: close\r\n\r\n${body}`,
    "latin1"
  ))
  conn.close()
  return { status, detail }
}

/** What a request lacks to be our upgrade, as the refusal to send; undefined when it is one. */
const check = (head: HttpHead.Head, path: string): [number, string, string?] | undefined => {
  if (head.first !== "GET") return [405, `method ${head.first}`]
  const target = head.second.split("?")[0]
  if (target !== path) return [404, `path ${JSON.stringify(head.second.slice(0, 200))} (ws_path is ${JSON.stringify(path)})`]
  const h = head.headers
  if (!HttpHead.hasToken(h.get("upgrade"), "websocket") || !HttpHead.hasToken(h.get("connection"), "upgrade")) {
    return [426, "not a WebSocket upgrade", "Upgrade: websocket\r\n"]
  }
  if (h.get("sec-websocket-version") !== "13") {
    return [426, `WebSocket version ${h.get("sec-websocket-version") ?? "missing"}`, "Sec-WebSocket-Version: 13\r\n"]
  }
  const key = h.get("sec-websocket-key")
  if (key === undefined || Buffer.from(key, "base64").length !== 16) return [400, "bad Sec-WebSocket-Key"]
  return undefined
}

/**
 * Server side: reads the request and answers it. On success the connection is a WebSocket from the next
 * byte on, and the result is the client a trusted proxy forwarded for (undefined: the socket's peer).
 */
export const accept = (conn: Conn, options: ServerOptions, done: Done<Peer | undefined, UpgradeError>): Cancel =>
  HttpHead.read(conn, (error, head) => {
    if (error) {
      if (error.reason !== "Closed") return done(refuse(conn, error.reason === "TooLarge" ? 431 : 400, error.detail))
      // the peer ended before its head did: nothing to answer, but our side is closed too (a peer that
      // half-closed mid-head otherwise left the socket open for good, past every deadline)
      conn.destroy()
      return done({ status: undefined, detail: error.detail })
    }
    const problem = check(head!, options.path)
    if (problem !== undefined) return done(refuse(conn, problem[0], problem[1], problem[2]))
    const key = head!.headers.get("sec-websocket-key")!
    conn.write(Buffer.from(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      "latin1"
    ))
    done(undefined, forwardedPeer(options.trusted, () => conn.peer.host, head!.headers))
  })

export interface ClientOptions {
  /** the `Host` header: the server's name (and port, when not the scheme's default) */
  readonly host: string
  readonly path: string
}

/** Client side: sends the upgrade request and checks the answer. */
export const request = (conn: Conn, options: ClientOptions, done: Done<void, UpgradeError>): Cancel => {
  const key = randomBytes(16).toString("base64")
  conn.write(Buffer.from(
    `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}\r\nUser-Agent: ${USER_AGENT}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Cache-Control: no-cache\r\nPragma: no-cache\r\n\r\n`,
    "latin1"
  ))
  return HttpHead.read(conn, (error, head) => {
    if (error) return done({ status: undefined, detail: `no WebSocket upgrade answer: ${error.detail}` })
    const status = Number(head!.second)
    if (!head!.first.startsWith("HTTP/") || !Number.isInteger(status)) {
      return done({ status: undefined, detail: "the answer to the WebSocket upgrade is not HTTP" })
    }
    if (status !== 101) {
      return done({ status, detail: `the server answered ${status} ${head!.third} to the WebSocket upgrade of ${options.path}` })
    }
    if (head!.headers.get("sec-websocket-accept") !== acceptFor(key)) {
      return done({ status, detail: "the upgrade answer has a wrong Sec-WebSocket-Accept (not a WebSocket server)" })
    }
    done(undefined)
  })
}
