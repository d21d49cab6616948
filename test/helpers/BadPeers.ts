/**
 * Hostile peers for the tunnel port, over real loopback sockets: each opens a connection (TCP, or TLS
 * for the wss transports) from its own 127.x address, speaks as much of the tunnel's opening as it was
 * given — for the WebSocket carriers an HTTP upgrade (proper or mutated) and WebSocket frames — with the
 * tunnel's handshake bytes mutated, then half-closes or goes silent, and reports how the server ended
 * it. The fuzz suites throw hundreds of them at a running server.
 */
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as net from "node:net"
import * as tls from "node:tls"
import type { TransportName } from "../../src/config/Config.ts"
import * as P from "../../src/protocol/Protocol.ts"
import { arbInput, arbMutation, mutate } from "./Fuzz.ts"

/** How a transport's peers reach the tunnel port. */
export type Carrier = "tcp" | "ws" | "wss"

export const carrierOf = (transport: string): Carrier =>
  transport.startsWith("wss") ? "wss" : transport.startsWith("ws") ? "ws" : "tcp"

/** The name a transport goes by in the handshake (TLS is not part of it). */
export const wireName = (transport: string): TransportName =>
  (transport === "wss" ? "ws" : transport === "wssmux" ? "wsmux" : transport) as TransportName

/** One hostile peer. */
export interface BadPeer {
  /** the tunnel-level bytes: a mutated opening, or random bytes */
  readonly payload: Buffer
  /** WebSocket carriers: the upgrade as sent (undefined: the payload goes raw, no upgrade) */
  readonly upgrade: Buffer | undefined
  /** the upgrade was left as a client sends it */
  readonly properUpgrade: boolean
  /** WebSocket carriers: the payload in masked binary frames (else raw after the upgrade) */
  readonly framed: boolean
  /** after sending, stay silent instead of half-closing: the server's deadline must end it */
  readonly hold: boolean
}

const UPGRADE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`

/** Openings a tunnel client might send, for `transport`: what the mutations start from. */
const openings = (transport: TransportName): fc.Arbitrary<ReadonlyArray<Uint8Array>> => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((u) => Buffer.from(u))
  const control = bytes(32).map((nonce) => P.encodeClientHello({ kind: "control", transport, nonce }))
  return fc.oneof(
    fc.tuple(control, bytes(P.PROOF_BYTES)).map(([hello, proof]) => [hello, proof]),
    control.map((hello) => [hello]),
    fc.record({ sessionId: bytes(16), counter: fc.nat(1000), mac: bytes(32) }).map((h) => [P.encodeDataHello(transport, h)]),
    // a proof, then frames a session would carry
    fc.tuple(control, bytes(P.PROOF_BYTES), fc.nat(0xffff)).map(([hello, proof, count]) => [
      hello,
      proof,
      P.encodeFrame({ _tag: "OpenData", count }),
      P.encodeFrame({ _tag: "Ping", sentAt: 1 })
    ])
  )
}

/** Hostile peers for a transport, on `path` for the WebSocket carriers. */
export const arbBadPeer = (transport: string, path: string): fc.Arbitrary<BadPeer> => {
  const carrier = carrierOf(transport)
  return fc.record({
    input: arbInput(openings(wireName(transport)), 300),
    upgradeEdits: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(arbMutation, { minLength: 1, maxLength: 3 }) }),
    noUpgrade: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    framed: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    hold: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })
  }).map(({ framed, hold, input, noUpgrade, upgradeEdits }) => {
    if (carrier === "tcp") return { payload: input.bytes, upgrade: undefined, properUpgrade: false, framed: false, hold }
    const proper = Buffer.from(UPGRADE(path), "latin1")
    const upgrade = noUpgrade ? undefined : upgradeEdits.length === 0 ? proper : mutate(proper, upgradeEdits)
    return { payload: input.bytes, upgrade, properUpgrade: upgrade !== undefined && upgrade.equals(proper), framed, hold }
  })
}

/** `n` hostile peers, the same ones for the same seed. */
export const sample = (transport: string, path: string, n: number, seed: number): Array<BadPeer> =>
  fc.sample(arbBadPeer(transport, path), { numRuns: n, seed })

/** `payload` as masked binary WebSocket frames of up to 64 bytes each (a client's framing). */
export const wsFrames = (payload: Buffer, key = Buffer.from([0x37, 0xfa, 0x21, 0x3d])): Buffer => {
  const out: Array<Buffer> = []
  for (let at = 0; at < payload.length; at += 64) {
    const piece = Buffer.from(payload.subarray(at, at + 64))
    for (let i = 0; i < piece.length; i++) piece[i] = piece[i]! ^ key[i % 4]!
    out.push(Buffer.from([0x82, 0x80 | piece.length]), key, piece)
  }
  return Buffer.concat(out)
}

/** How a hostile peer's connection ended. */
export interface Ending {
  /** "closed": the server ended it; "timeout": still open when we gave up; "refused": no connection */
  readonly how: "closed" | "timeout" | "refused"
  readonly millis: number
  /** what the server answered, first bytes (an HTTP refusal, a 101, a ServerHello …) */
  readonly answer: Buffer
}

/** The nth source address of the hostile peers: 127.1.x.y, each used by few peers, never the client's. */
export const sourceAddress = (n: number): string => `127.1.${(n >> 8) & 0xff}.${(n & 0xff) || 1}`

/**
 * Runs one hostile peer against 127.0.0.1:`port` from `localAddress`; gives up after `timeoutMs`
 * (that is a failure of the server: it must end every bad peer by its deadline).
 */
export const run = (peer: BadPeer, carrier: Carrier, port: number, localAddress: string, timeoutMs: number): Effect.Effect<Ending> =>
  Effect.async<Ending>((resume) => {
    const started = Date.now()
    const answer: Array<Buffer> = []
    let answered = 0
    let settled = false
    const tcp = net.connect({ host: "127.0.0.1", port, localAddress, allowHalfOpen: true })
    const socket: net.Socket = carrier === "wss" ? tls.connect({ socket: tcp, rejectUnauthorized: false }) : tcp
    const finish = (how: Ending["how"]) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      tcp.destroy()
      resume(Effect.succeed({ how, millis: Date.now() - started, answer: Buffer.concat(answer) }))
    }
    const timer = setTimeout(() => finish("timeout"), timeoutMs)
    let connected = false
    socket.on(carrier === "wss" ? "secureConnect" : "connect", () => {
      connected = true
      const body = carrier !== "tcp" && peer.upgrade !== undefined && peer.framed ? wsFrames(peer.payload) : peer.payload
      const wire = Buffer.concat([peer.upgrade ?? Buffer.alloc(0), body])
      // in a few writes, so the server sees the opening arrive in pieces
      const third = Math.ceil(wire.length / 3)
      for (let at = 0; at < wire.length; at += Math.max(1, third)) socket.write(wire.subarray(at, at + Math.max(1, third)))
      if (!peer.hold) socket.end()
    })
    socket.on("data", (c: Buffer) => {
      if (answered < 256) answer.push(c.subarray(0, 256 - answered))
      answered += c.length
    })
    socket.on("end", () => finish("closed"))
    socket.on("close", () => finish(connected ? "closed" : "refused"))
    socket.on("error", () => finish(connected ? "closed" : "refused"))
    return Effect.sync(() => finish("timeout"))
  })
