/**
 * The WebSocket carrier end to end over loopback: what strangers on the tunnel port get (HTTP errors,
 * never a hang), what the client's upgrade request looks like, CDN dialing (`edge_ip`), certificate
 * checks of `wss`, and the pings that find a dead path.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { rmSync } from "node:fs"
import * as net from "node:net"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import * as Certs from "../helpers/Certs.ts"
import * as CutProxy from "../helpers/CutProxy.ts"
import {
  clientConfig,
  echoSetup,
  eventually,
  mapping,
  serverConfig,
  startClient,
  startServer,
  transportConfigs
} from "../helpers/Harness.ts"
import { roundTrip } from "../helpers/Sockets.ts"

const certs = Certs.makeSync()
/** a certificate for a name only a CDN edge would be dialed for */
const named = Certs.makeSync("tunnel.example")
afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true })
  rmSync(named.dir, { recursive: true, force: true })
})

/** Sends `request` to the port and returns everything answered until the server closes (or 5 s). */
const exchange = (port: number, request: string | Buffer, timeoutMs = 5_000) =>
  Effect.async<{ answer: string; closedAfterMs: number }>((resume) => {
    const chunks: Array<Buffer> = []
    const t0 = Date.now()
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write(request))
    const timer = setTimeout(() => s.destroy(), timeoutMs)
    s.on("data", (c: Buffer) => chunks.push(c))
    s.on("error", () => {})
    s.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed({ answer: Buffer.concat(chunks).toString("latin1"), closedAfterMs: Date.now() - t0 }))
    })
  })

const upgrade = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`

describe("ws transport: strangers on the tunnel port", () => {
  it.scopedLive("every request that is not our upgrade gets a quick HTTP error; the server keeps serving", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const ws = transportConfigs("ws")
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], {
        ...ws.server,
        ws_path: "/tunnel",
        dial_timeout: 1
      }))
      yield* startClient(clientConfig(tunnelPort, { ...ws.client, ws_path: "/tunnel" }))
      const cases: Array<[string | Buffer, RegExp]> = [
        ["GET /tunnel HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 426 /],
        ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 404 /],
        [upgrade("/other"), /^HTTP\/1\.1 404 /],
        ["POST /tunnel HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", /^HTTP\/1\.1 405 /],
        [upgrade("/tunnel").replace("Version: 13", "Version: 8"), /^HTTP\/1\.1 426 [^]*Sec-WebSocket-Version: 13/],
        [upgrade("/tunnel").replace("dGhlIHNhbXBsZSBub25jZQ==", "short"), /^HTTP\/1\.1 400 /],
        [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]), /^HTTP\/1\.1 400 /], // a TLS ClientHello
        ["GET /tunnel HTTP/1.1\r\n" + "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(600) + "\r\n", /^HTTP\/1\.1 431 /]
      ]
      for (const [request, expected] of cases) {
        const { answer, closedAfterMs } = yield* exchange(tunnelPort, request)
        assert.match(answer, expected, JSON.stringify(String(request).slice(0, 40)))
        assert.isBelow(closedAfterMs, 900, "answered and closed before the deadline")
      }
      // an upgrade that then never speaks the tunnel's handshake is closed at the deadline
      const silent = yield* exchange(tunnelPort, upgrade("/tunnel"))
      assert.match(silent.answer, /^HTTP\/1\.1 101 /)
      assert.isBelow(silent.closedAfterMs, 4_000)
      // a request that never ends its head is closed at the deadline too
      const slow = yield* exchange(tunnelPort, "GET /tunnel HTTP/1.1\r\nHost:")
      assert.strictEqual(slow.answer, "")
      assert.isBelow(slow.closedAfterMs, 4_000)
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("still here"))).toString(), "still here")
      assert.strictEqual(server.value.stats.sessions, 1)
    }), 30_000)

  it.scopedLive("the client's upgrade: ws_path, the server's name as Host, a browser's User-Agent, no token", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const requests: Array<string> = []
      const fake = net.createServer((s) => {
        s.on("error", () => {})
        s.once("data", (c: Buffer) => {
          requests.push(c.toString("latin1"))
          s.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          fake.listen(port, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.sync(() => fake.close())
      )
      const logs: Array<string> = []
      yield* startClient(clientConfig(port, { transport: "ws", ws_path: "/t/x" }), false, logs)
      assert.isTrue(yield* eventually(() => requests.length >= 1 && logs.length >= 1))
      const request = requests[0]!
      assert.match(request, /^GET \/t\/x HTTP\/1\.1\r\n/)
      assert.include(request, `\r\nHost: 127.0.0.1:${port}\r\n`)
      assert.match(request, /\r\nUser-Agent: Mozilla\/5\.0 /)
      assert.notInclude(request, "test-secret")
      assert.match(logs[0]!, /answered 403 Forbidden to the WebSocket upgrade/)
    }))
})

describe("wss and edge_ip", () => {
  const wss = transportConfigs("wss", certs)

  it.scopedLive("without trust in the self-signed certificate the client refuses, says what to set, and retries", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], wss.server))
      const logs: Array<string> = []
      yield* startClient(clientConfig(tunnelPort, { transport: "wss" }), false, logs)
      assert.isTrue(yield* eventually(() => logs.filter((l) => l.includes("certificate")).length >= 2))
      assert.include(logs[0]!, "server certificate rejected")
      assert.include(logs[0]!, "set tls_ca")
      assert.strictEqual(server.value.stats.sessions, 0)
    }))

  it.scopedLive("with tls_ca it connects; a name the certificate lacks is refused, naming tls_server_name", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], wss.server))
      yield* startClient(clientConfig(tunnelPort, wss.client))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("trusted"))).toString(), "trusted")
      const logs: Array<string> = []
      yield* startClient(clientConfig(tunnelPort, { ...wss.client, tls_server_name: "other.example" }), false, logs)
      assert.isTrue(yield* eventually(() => logs.some((l) => l.includes("certificate"))))
      assert.include(logs.find((l) => l.includes("certificate"))!, "tls_server_name")
    }))

  it.scopedLive("tls_insecure_skip_verify connects without trust and warns at every connect", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], wss.server))
      const logs: Array<string> = []
      yield* startClient(clientConfig(tunnelPort, { transport: "wss", tls_insecure_skip_verify: true }), true, logs)
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("unchecked"))).toString(), "unchecked")
      // the control channel and every pooled data channel were connects
      const warnings = logs.filter((l) => l.includes("WITHOUT checking its certificate"))
      assert.isAtLeast(warnings.length, 2)
    }))

  it.scopedLive("edge_ip: the client dials the edge and keeps the server's name for Host, SNI and the check", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], {
        transport: "wssmux",
        tls_cert: named.cert,
        tls_key: named.key
      }))
      // tunnel.example resolves nowhere: only the edge address is dialed
      yield* startClient(clientConfig(tunnelPort, {
        transport: "wssmux",
        remote_addr: { host: "tunnel.example", port: tunnelPort },
        edge_ip: { host: "127.0.0.1", port: undefined },
        tls_ca: named.cert
      }))
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("via the edge"))).toString(), "via the edge")
      assert.strictEqual(server.value.stats.sessions, 1)
    }))
})

describe("ws transport: keepalive", () => {
  it.scopedLive("a path that goes silent is found dead by the pings within ~4 intervals, and the client reconnects", () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      const proxy = yield* CutProxy.make(tunnelPort)
      const settings = { transport: "wsmux", ws_ping_interval: 1, heartbeat: 60 } as const
      const server = yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], settings))
      const client = yield* startClient(clientConfig(proxy.port, { ...settings, dial_timeout: 2 }))
      assert.isTrue(yield* eventually(() => server.value.hub.readyCount === 1))
      const before = proxy.connections.length
      // heartbeats are a minute apart: only the WebSocket pings can notice
      for (const c of proxy.connections) c.freeze()
      const t0 = Date.now()
      assert.isTrue(yield* eventually(() => client.value.stats.sessions === 2 && server.value.hub.readyCount === 1, 15_000))
      const took = Date.now() - t0
      assert.isAtLeast(took, 2_000, "not before the pings went unanswered")
      assert.isAtMost(took, 9_000)
      assert.isAbove(proxy.connections.length, before)
      assert.strictEqual((yield* roundTrip(userPort, Buffer.from("revived"))).toString(), "revived")
    }), 30_000)
})
