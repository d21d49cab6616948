/**
 * The benchmark's tunnels: what each transport adds to the configs (TLS files for wss and wssmux, made
 * once per run, checked against 127.0.0.1 without any insecure skip), and that the compiled binary
 * starts and carries a connection with them for every default transport.
 */
import { assert, describe, it } from "@effect/vitest"
import { createPrivateKey, X509Certificate } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import * as net from "node:net"
import { afterAll } from "vitest"
import { binary } from "../helpers/BinaryTunnel.ts"
// @ts-expect-error: a plain JavaScript module of the benchmark, without types
import { echoUntil, freePorts, HOST } from "../../scripts/bench/net.mjs"
// @ts-expect-error: a plain JavaScript module of the benchmark, without types
import * as procs from "../../scripts/bench/procs.mjs"
// @ts-expect-error: a plain JavaScript module of the benchmark, without types
import * as tunnel from "../../scripts/bench/tunnel.mjs"

afterAll(async () => {
  await procs.stopAll()
  tunnel.removeConfigDir()
})

describe("bench tunnel configs", () => {
  it("gives wss and wssmux a self-signed pair: certificate and key to the server, the certificate as CA to the client", () => {
    for (const transport of ["wss", "wssmux"]) {
      const server = tunnel.settings(transport, "server")
      const client = tunnel.settings(transport, "client")
      assert.strictEqual(server.transport, transport)
      assert.strictEqual(client.tls_ca, server.tls_cert)
      assert.isUndefined(client.tls_insecure_skip_verify)
      assert.isUndefined(server.tls_ca)
      assert.isUndefined(client.tls_cert)
      const cert = new X509Certificate(readFileSync(server.tls_cert))
      assert.strictEqual(cert.checkIP(HOST), HOST, "valid for the clients' remote_addr host")
      assert.isTrue(cert.checkPrivateKey(createPrivateKey(readFileSync(server.tls_key))))
    }
    const pair = tunnel.selfSigned()
    assert.strictEqual(tunnel.selfSigned(), pair, "made once per run")
    assert.strictEqual(tunnel.settings("wssmux", "server").tls_cert, pair.cert)
    assert.strictEqual(tunnel.settings("wss", "server").tls_key, pair.key)
  })

  it("adds nothing TLS for the transports without it", () => {
    for (const transport of ["tcp", "tcpmux", "ws", "wsmux"]) {
      for (const side of ["server", "client"]) {
        assert.deepStrictEqual(tunnel.settings(transport, side), { transport, token: "bench", log_level: "info" })
      }
    }
  })
})

/** An echo server on loopback for the life of the test file. */
const echoServer = () =>
  new Promise<{ port: number; close: () => void }>((resolve) => {
    const server = net.createServer((s) => s.on("error", () => {}).pipe(s))
    server.listen(0, HOST, () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() }))
  })

describe("bench tunnels of dist/backhaul", () => {
  it("starts every default transport and echoes through it, with nothing logged at warning level", async () => {
    assert.isTrue(existsSync(binary), `${binary} is missing: run npm run build`)
    const echo = await echoServer()
    try {
      for (const transport of tunnel.DEFAULT_CANDIDATES) {
        assert.deepStrictEqual(tunnel.implemented(binary, transport), { ok: true, detail: "" }, transport)
        const [userPort] = await freePorts(1)
        const t = await tunnel.start({ binary, transport, ports: [tunnel.mapping(userPort, echo.port)] })
        const echoed = await echoUntil(userPort, 10_000)
        const logged = [...tunnel.problems(t.server), ...tunnel.problems(t.client)]
        const stopped = await t.stop()
        assert.isNotNull(echoed, `${transport}: no echo through the tunnel`)
        assert.deepStrictEqual(logged, [], transport)
        assert.deepStrictEqual([stopped.server, stopped.client], [0, 0], `${transport}: exit codes on SIGTERM`)
      }
    } finally {
      echo.close()
    }
  }, 120_000)
})
