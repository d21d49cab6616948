/**
 * End to end through a real nginx (Debian's package, started by the test in a temp dir): the WebSocket
 * transports behind nginx as a WebSocket reverse proxy, behind nginx terminating TLS, and through
 * nginx's stream module passing TLS through; the forwarded client address with and without
 * `trusted_proxies`; and idle tunnels under nginx's proxy timeouts, kept up by WebSocket pings (with the
 * control case where nginx cuts them). nginx is required: missing, these tests fail (CI installs it).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { ClientConfig, ServerConfig } from "../../src/config/Config.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import type { RunningServer } from "../../src/server/Server.ts"
import * as Certs from "../helpers/Certs.ts"
import {
  clientConfig,
  echoSetup,
  eventually,
  mapping,
  type Running,
  serverConfig,
  startClient,
  startServer
} from "../helpers/Harness.ts"
import * as Nginx from "../helpers/Nginx.ts"
import { pattern, roundTrip, sha256, transfer } from "../helpers/Sockets.ts"

const MiB = 1024 * 1024
const PATH = "/tunnel"
/** the server's pool of idle data channels (pooled transports) */
const POOL = 4

/** Ways through the server should have ready once the client is up: idle data channels, or mux sessions. */
const readyTarget = (transport: string) => transport.endsWith("mux") ? 1 : POOL

/**
 * Echo target, backhaul server on a free port, nginx in front of it (`proxy` given the server's port),
 * and a client dialing nginx, up with its ways through ready.
 */
const behindNginx = (options: {
  readonly server: Partial<ServerConfig>
  readonly client: Partial<ClientConfig>
  readonly proxy: (tunnelPort: number) => Nginx.Options
}) =>
  Effect.gen(function*() {
    const { echo, tunnelPort, userPort } = yield* echoSetup
    const logs: Array<string> = []
    const serverConf = serverConfig(tunnelPort, [mapping(userPort, echo.port)], {
      ws_path: PATH,
      connection_pool: POOL,
      ...options.server
    })
    const server = yield* startServer(serverConf, undefined, logs)
    const nginx = yield* Nginx.start(options.proxy(tunnelPort))
    const before = nginx.statusPort === undefined ? undefined : (yield* nginx.status).accepts
    const client = yield* startClient(clientConfig(nginx.port, { ws_path: PATH, ...options.client })).pipe(
      Effect.timeoutFail({
        duration: "15 seconds",
        onTimeout: () =>
          new Error(
            `the ${options.client.transport} client did not connect through nginx within 15 s\n` +
              `--- server log ---\n${logs.join("\n")}\n--- nginx error.log ---\n${nginx.errorLog()}`
          )
      })
    )
    const ready = readyTarget(serverConf.transport)
    assert.isTrue(
      yield* eventually(() => server.value.hub.readyCount === ready),
      `server has ${server.value.hub.readyCount} ways through ready, expected ${ready}`
    )
    return { echo, userPort, server, client, nginx, logs, acceptsBefore: before }
  })

/** Carrier connections the server admitted: control channels, data channels or mux sessions, refusals. */
const carriers = (server: Running<RunningServer>) =>
  server.value.stats.sessions + server.value.stats.channels + server.value.stats.rejected

/**
 * The data checks: `bulk` bytes each way hashed, then `concurrent` connections at once, each with its own
 * data, every byte back; every connection counted at the target and the server.
 */
const carriesData = (
  t: { readonly echo: EchoServer.EchoServer; readonly userPort: number; readonly server: Running<RunningServer> },
  bulk: number,
  concurrent: number
) =>
  Effect.gen(function*() {
    const result = yield* transfer(t.userPort, bulk)
    assert.strictEqual(result.sent, bulk)
    assert.strictEqual(result.received, bulk)
    assert.strictEqual(result.receivedHash, result.sentHash)

    const payloads = Array.from({ length: concurrent }, (_, i) => pattern(1000 + i, 48 * 1024 + i * 1013))
    const matched = yield* Effect.forEach(
      payloads,
      (payload) => Effect.map(roundTrip(t.userPort, payload), (back) => back.length === payload.length && sha256(back) === sha256(payload)),
      { concurrency: "unbounded" }
    )
    assert.strictEqual(matched.filter(Boolean).length, concurrent)
    assert.strictEqual(t.echo.accepted(), 1 + concurrent)
    assert.isTrue(yield* eventually(() => t.server.value.stats.active === 0))
    assert.strictEqual(t.server.value.stats.opened, 1 + concurrent)
    assert.strictEqual(t.server.value.stats.failed, 0)
  })

/** nginx accepted exactly the carrier connections the server saw (plus the one status request). */
const allThroughNginx = (t: {
  readonly server: Running<RunningServer>
  readonly nginx: Nginx.Nginx
  readonly acceptsBefore: number | undefined
}) =>
  Effect.gen(function*() {
    // each status request is a connection too: the k-th one after `acceptsBefore` counts k of them
    let through = -1
    for (let k = 1; k <= 50; k++) {
      through = (yield* t.nginx.status).accepts - t.acceptsBefore! - k
      if (through === carriers(t.server)) return
      yield* Effect.sleep(100)
    }
    assert.fail(`nginx accepted ${through} connections, the server admitted ${carriers(t.server)}`)
  })

describe("through nginx as a WebSocket reverse proxy", () => {
  for (const transport of ["ws", "wsmux"] as const) {
    it.scopedLive(`${transport}: 32 MiB each way exactly (sha256) and 50 concurrent connections, ws_path ${PATH}`, () =>
      Effect.gen(function*() {
        const t = yield* behindNginx({
          server: { transport },
          client: { transport },
          proxy: (backend) => Nginx.webSocketProxy({ backend, path: PATH })
        })
        yield* carriesData(t, 32 * MiB, 50)
        if (transport === "wsmux") {
          // one mux session carried everything, through nginx
          assert.strictEqual(t.server.value.stats.channels, 1)
        } else {
          assert.isAtLeast(t.server.value.stats.channels, POOL)
        }
        assert.strictEqual(t.server.value.stats.sessions, 1)
        assert.strictEqual(t.client.value.stats.sessions, 1)
        yield* allThroughNginx(t)
        assert.notMatch(t.nginx.errorLog(), /\[(error|crit|alert|emerg)\]/)
      }), 90_000)
  }

  it.scopedLive("nginx proxies ws_path only: another path gets nginx's 404, a plain GET of ws_path the server's 426", () =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      yield* startServer(serverConfig(tunnelPort, [mapping(userPort, echo.port)], { transport: "ws", ws_path: PATH }))
      const nginx = yield* Nginx.start(Nginx.webSocketProxy({ backend: tunnelPort, path: PATH }))
      // nginx proxies /tunnel only; the server refuses anything but its ws_path itself
      const status = (answer: string) => answer.split(" ")[1]
      assert.strictEqual(status(yield* Nginx.get(nginx.port, "/elsewhere")), "404")
      // the backhaul server's own answer to a GET that is not an upgrade, relayed by nginx
      assert.strictEqual(status(yield* Nginx.get(nginx.port, PATH)), "426")
    }))
})

describe("wss with nginx in front", () => {
  it.scopedLive("nginx terminating TLS in front of a ws server: a wss client (tls_ca) carries data", () =>
    Effect.gen(function*() {
      const pair = yield* Certs.make()
      const t = yield* behindNginx({
        server: { transport: "ws" },
        client: { transport: "wss", tls_ca: pair.cert },
        proxy: (backend) => Nginx.webSocketProxy({ backend, path: PATH, tls: pair })
      })
      yield* carriesData(t, 16 * MiB, 20)
      yield* allThroughNginx(t)
    }), 60_000)

  for (const transport of ["wss", "wssmux"] as const) {
    it.scopedLive(`${transport} with nginx passing TLS through (stream module): data carried, the certificate checked against tls_ca`, () =>
      Effect.gen(function*() {
        const pair = yield* Certs.make()
        const t = yield* behindNginx({
          server: { transport, tls_cert: pair.cert, tls_key: pair.key },
          client: { transport, tls_ca: pair.cert },
          proxy: (backend) => Nginx.tcpPassthrough(backend)
        })
        yield* carriesData(t, 16 * MiB, 20)
        assert.strictEqual(t.server.value.stats.sessions, 1)
        if (transport === "wssmux") assert.strictEqual(t.server.value.stats.channels, 1)
        assert.notMatch(t.nginx.errorLog(), /\[(error|crit|alert|emerg)\]/)
      }), 60_000)
  }
})

describe("trusted_proxies behind nginx", () => {
  /**
   * A server with `trusted`, an nginx that forwards for 203.0.113.9 (a fixed X-Forwarded-For) and one
   * that forwards what it saw (127.0.0.1); a wrong-token client through the first until the server's
   * limiter (2 failures a minute) blocks the address it blamed, then good clients through each.
   */
  const scenario = (trusted: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const { echo, tunnelPort, userPort } = yield* echoSetup
      const logs: Array<string> = []
      const server = yield* startServer(
        serverConfig(tunnelPort, [mapping(userPort, echo.port)], { transport: "ws", ws_path: PATH, trusted_proxies: trusted }),
        { userWaitMillis: 2_000, authFailuresPerMinute: 2 },
        logs
      )
      const forging = yield* Nginx.start(Nginx.webSocketProxy({ backend: tunnelPort, path: PATH, forwardedFor: "203.0.113.9" }))
      const honest = yield* Nginx.start(Nginx.webSocketProxy({ backend: tunnelPort, path: PATH }))
      const client = (port: number, token = "test-secret") =>
        startClient(clientConfig(port, { transport: "ws", ws_path: PATH, token: Redacted.make(token) }), false)
      const bad = yield* client(forging.port, "not-the-secret")
      assert.isTrue(yield* eventually(() => server.value.stats.rejected >= 3), "the wrong token was refused")
      yield* bad.stop
      const refusals = logs.filter((l) => l.startsWith("WARN refused tunnel connection from "))
      assert.isAtLeast(refusals.length, 1, logs.join("\n"))
      const connects = (port: number) =>
        Effect.scoped(Effect.gen(function*() {
          const c = yield* client(port)
          yield* eventually(() => c.value.stats.sessions > 0, 3_000)
          return c.value.stats.sessions > 0
        }))
      return { refusals, viaHonest: yield* connects(honest.port), viaForging: yield* connects(forging.port) }
    })

  it.scopedLive("trusted_proxies = [\"127.0.0.1\"]: the server sees the forwarded peer (logs, auth limiter)", () =>
    Effect.gen(function*() {
      const r = yield* scenario(["127.0.0.1"])
      assert.match(r.refusals[0]!, /^WARN refused tunnel connection from 203\.0\.113\.9:0: /)
      // the limiter blocked 203.0.113.9, not the proxy's address: a client forwarded as 127.0.0.1 gets in
      assert.isTrue(r.viaHonest, "a client forwarded as 127.0.0.1 connects")
      assert.isFalse(r.viaForging, "a client forwarded as 203.0.113.9 is rate limited")
    }), 30_000)

  it.scopedLive("without trusted_proxies the forwarded headers are ignored: the peer is the socket's 127.0.0.1", () =>
    Effect.gen(function*() {
      const r = yield* scenario([])
      assert.match(r.refusals[0]!, /^WARN refused tunnel connection from 127\.0\.0\.1:\d+: /)
      assert.notInclude(r.refusals.join("\n"), "203.0.113.9")
      // the limiter blocked 127.0.0.1 (nginx's address), so nobody behind nginx gets in
      assert.isFalse(r.viaHonest)
      assert.isFalse(r.viaForging)
    }), 30_000)
})

// Idle tunnels under nginx's proxy_read_timeout / proxy_send_timeout of 5 s. The heartbeat (control
// frames, mux pings) is 20 s on both sides, so only WebSocket pings can keep the carriers alive.
const IDLE_SECONDS = 30
const NGINX_TIMEOUT = 5

const idleTunnel = (transport: "ws" | "wsmux", pingSeconds: number) =>
  behindNginx({
    server: { transport, ws_ping_interval: pingSeconds, heartbeat: 20 },
    client: { transport, ws_ping_interval: pingSeconds, heartbeat: 20 },
    // at info, nginx logs its own cut of an upgraded connection: "upstream timed out"
    proxy: (backend) => ({ ...Nginx.webSocketProxy({ backend, path: PATH, timeoutSeconds: NGINX_TIMEOUT }), errorLogLevel: "info" })
  })

describe.concurrent(`idle through nginx (proxy timeouts ${NGINX_TIMEOUT} s)`, () => {
  for (const transport of ["ws", "wsmux"] as const) {
    it.scopedLive(`${transport}, ws_ping_interval = 2: the same carriers stay up ${IDLE_SECONDS} s idle, and carry a connection after`, () =>
      Effect.gen(function*() {
        const t = yield* idleTunnel(transport, 2)
        const { server, client, nginx } = t
        yield* Effect.sleep(500) // let the start-up settle: what counts is what changes while idle
        const start = { ...server.value.stats }
        const ready = server.value.hub.readyCount
        const accepts = (yield* nginx.status).accepts
        yield* Effect.sleep(`${IDLE_SECONDS} seconds`)
        assert.strictEqual(server.value.stats.sessions, 1, "control session not re-established")
        assert.strictEqual(client.value.stats.sessions, 1)
        assert.strictEqual(server.value.stats.channels, start.channels, "no carrier replaced")
        assert.strictEqual(server.value.hub.readyCount, ready)
        // the one connection nginx accepted meanwhile is the status request itself
        assert.strictEqual((yield* nginx.status).accepts - accepts, 1)
        assert.notInclude(nginx.errorLog(), "timed out", nginx.errorLog())
        const payload = pattern(77, 256 * 1024)
        assert.strictEqual(sha256(yield* roundTrip(t.userPort, payload)), sha256(payload))
        if (transport === "wsmux") assert.strictEqual(server.value.stats.channels, 1)
      }), (IDLE_SECONDS + 30) * 1000)

    it.scopedLive(`${transport}, control: ws_ping_interval = 30 (over nginx's timeout): nginx cuts the idle carriers`, () =>
      Effect.gen(function*() {
        const { server, nginx } = yield* idleTunnel(transport, 30)
        const start = { ...server.value.stats }
        const cut = yield* eventually(
          () => server.value.stats.sessions > start.sessions || server.value.stats.channels > start.channels,
          (NGINX_TIMEOUT + 10) * 1000
        )
        assert.isTrue(cut, "nginx should have cut the idle carriers and the client replaced them")
        assert.isTrue(yield* eventually(() => nginx.errorLog().includes("upstream timed out"), 2_000), nginx.errorLog())
      }), (IDLE_SECONDS + 30) * 1000)
  }
})
