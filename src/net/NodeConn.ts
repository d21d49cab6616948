/**
 * `Conn` over a `node:net` socket: the backend under Node and Deno (and under Bun when asked for with
 * `BACKHAUL_SOCKETS=node`). The socket runs in flowing mode; Node buffers writes itself and says when to
 * wait (`write` returning false, then `drain`).
 */
import * as net from "node:net"
import * as tls from "node:tls"
import { type Backend, ConnBase, type Peer, type SocketOptions } from "./Conn.ts"
import * as TlsContext from "./TlsContext.ts"

const ignore = () => {}

export class NodeConn extends ConnBase {
  constructor(private readonly socket: net.Socket) {
    super()
    // an error is followed by `close`; the listener only keeps a reset from becoming an uncaught exception
    socket.on("error", ignore)
    socket.on("data", (chunk: Buffer) => this.received(chunk))
    socket.on("end", () => this.receivedEnd())
    socket.on("drain", () => this.drained())
    socket.on("close", (hadError: boolean) => this.receivedClose(!hadError && this.readEnded))
    if (socket.destroyed) this.receivedClose(false)
  }

  protected describePeer(): Peer {
    return { host: this.socket.remoteAddress ?? "?", port: this.socket.remotePort ?? 0 }
  }

  setKeepAlive(seconds: number): void {
    if (!this.socket.destroyed) this.socket.setKeepAlive(true, seconds * 1000)
  }

  write(chunk: Uint8Array): boolean {
    if (this.socket.destroyed || !this.socket.writable) return true // nothing will drain: do not wait
    return this.socket.write(chunk)
  }

  /** Corked writes go out together; the body is not copied (Node holds it until written, as `write` does). */
  writePair(head: Uint8Array, body: Uint8Array): boolean {
    if (this.socket.destroyed || !this.socket.writable) return true
    this.socket.cork()
    // node:net holds what it is given until it is written: `head` is copied, the caller may reuse it
    this.socket.write(Buffer.from(head))
    const ok = this.socket.write(body)
    this.socket.uncork()
    return ok
  }

  end(): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.end()
  }

  close(): void {
    if (this.socket.destroyed) return
    this.socket.once("finish", () => this.socket.destroy())
    this.socket.end()
    // a peer that never reads must not keep the socket: `finish` never comes then
    this.socket.setTimeout(10_000, () => this.socket.destroy())
  }

  /** an abort: the peer sees a reset (RST), as with Bun's `terminate`, so a reset crosses the tunnel as one */
  destroy(): void {
    if (this.socket.destroyed) return
    // a TLS socket's handle cannot be reset (ERR_INVALID_HANDLE_TYPE): it is closed instead
    const resettable = typeof this.socket.resetAndDestroy === "function" && !(this.socket as tls.TLSSocket).encrypted
    if (resettable && this.socket.readyState !== "opening") this.socket.resetAndDestroy()
    else this.socket.destroy()
  }

  protected pauseReading(): void {
    this.socket.pause()
  }

  protected resumeReading(): void {
    this.socket.resume()
  }
}

const configure = (socket: net.Socket, options: SocketOptions): NodeConn => {
  if (options.nodelay) socket.setNoDelay(true)
  return new NodeConn(socket)
}

/** The `node:net` backend. */
export const backend: Backend = {
  name: "node",
  listen: (host, port, options, onConn, done) => {
    const secure = options.tls?.role === "server" ? options.tls : undefined
    const server = secure === undefined
      ? net.createServer({ allowHalfOpen: true })
      : tls.createServer({ allowHalfOpen: true, cert: secure.cert, key: secure.key, handshakeTimeout: secure.handshakeMillis })
    // a failed TLS handshake (a scanner, a wrong client) closes that socket only
    if (secure !== undefined) server.on("tlsClientError", ignore)
    const event = secure === undefined ? "connection" : "secureConnection"
    const onError = (e: Error) => {
      server.close()
      done(e)
    }
    server.once("error", onError)
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off("error", onError)
      server.on("error", ignore)
      server.on(event, (socket: net.Socket) => onConn(configure(socket, options)))
      const bound = server.address() as net.AddressInfo
      done(undefined, { host: bound.address, port: bound.port, stop: () => server.close() })
    })
  },
  connect: (host, port, options, done) => {
    const secure = options.tls?.role === "client" ? options.tls : undefined
    const socket = secure === undefined
      ? net.connect({ host, port, allowHalfOpen: true })
      : tls.connect({
        host,
        port,
        servername: net.isIP(secure.serverName) === 0 ? secure.serverName : undefined,
        // the name checked is the configured one even when SNI is off (an IP address)
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(secure.serverName, cert),
        secureContext: secure.context ?? TlsContext.client(secure.ca),
        rejectUnauthorized: secure.verify
      })
    let settled = false
    const onError = (e: Error) => {
      settled = true
      socket.destroy()
      done(e)
    }
    socket.once("error", onError)
    socket.once(secure === undefined ? "connect" : "secureConnect", () => {
      settled = true
      socket.off("error", onError)
      done(undefined, configure(socket, options))
    })
    return () => {
      if (!settled) socket.destroy()
    }
  }
}
