/**
 * The keys of the WebSocket transports in a file: defaults, values, and every way of getting them
 * wrong reported with the key and its line — TLS files included (missing, not PEM, a key that does
 * not belong to the certificate).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ClientConfig, ServerConfig } from "../../src/config/Config.ts"
import * as Load from "../../src/config/Load.ts"
import * as Certs from "../helpers/Certs.ts"

const certs = Certs.makeSync()
const other = Certs.makeSync()
const garbage = join(certs.dir, "garbage.pem")
writeFileSync(garbage, "not a certificate\n")
afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true })
  rmSync(other.dir, { recursive: true, force: true })
})

const parse = (text: string) => Load.parseConfigText(text, "test.toml")
const problems = (text: string) => Effect.map(Effect.flip(parse(text)), (e) => e.problems)
const serverHead = `[server]\nbind_addr = "0.0.0.0:443"\nports = []\n`
const clientHead = `[client]\nremote_addr = "tunnel.example.com:443"\n`

describe("WebSocket keys", () => {
  it.effect("defaults: ws_path /, pings every 25 s, certificates verified, no proxy trusted", () =>
    Effect.gen(function*() {
      const s = (yield* parse(`${serverHead}transport = "ws"\n`)).config as ServerConfig
      const c = (yield* parse(`${clientHead}transport = "ws"\n`)).config as ClientConfig
      assert.strictEqual(s.ws_path, "/")
      assert.strictEqual(s.ws_ping_interval, 25)
      assert.deepStrictEqual(s.trusted_proxies, [])
      assert.strictEqual(c.ws_path, "/")
      assert.strictEqual(c.tls_insecure_skip_verify, false)
      assert.strictEqual(c.edge_ip, undefined)
      assert.strictEqual(c.tls_ca, undefined)
    }))

  it.effect("every key read as written", () =>
    Effect.gen(function*() {
      const s = (yield* parse(
        `${serverHead}transport = "wss"\nws_path = "/t"\nws_ping_interval = 10\ntls_cert = "${certs.cert}"\n` +
          `tls_key = "${certs.key}"\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8", "::1"]\n`
      )).config as ServerConfig
      assert.strictEqual(s.ws_path, "/t")
      assert.strictEqual(s.ws_ping_interval, 10)
      assert.deepStrictEqual(s.trusted_proxies, ["127.0.0.1", "10.0.0.0/8", "::1"])
      const c = (yield* parse(
        `${clientHead}transport = "wssmux"\ntls_ca = "${certs.cert}"\ntls_server_name = "localhost"\n` +
          `edge_ip = "188.114.96.0"\n`
      )).config as ClientConfig
      assert.strictEqual(c.tls_server_name, "localhost")
      assert.deepStrictEqual(c.edge_ip, { host: "188.114.96.0", port: undefined })
      const withPort = (yield* parse(`${clientHead}edge_ip = "[2606:4700::1]:8443"\n`)).config as ClientConfig
      assert.deepStrictEqual(withPort.edge_ip, { host: "2606:4700::1", port: 8443 })
    }))

  it.effect("bad values name the key and the line", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* problems(`${serverHead}ws_path = "tunnel"\n`), [
        `server.ws_path (line 4): expected a path starting with "/" and without spaces, "?" or "#", got "tunnel"`
      ])
      assert.deepStrictEqual(yield* problems(`${serverHead}trusted_proxies = ["127.0.0.1", "10.0.0.0/33", "proxy"]\n`), [
        `server.trusted_proxies[1] (line 4): prefix length of "10.0.0.0/33" must be 0 to 32`,
        `server.trusted_proxies[2] (line 4): expected an IP address or CIDR range (e.g. "10.0.0.0/8"), got "proxy"`
      ])
      assert.deepStrictEqual(yield* problems(`${serverHead}ws_ping_interval = 0\n`), [
        "server.ws_ping_interval (line 4): expected an integer from 1 to 3600, got 0"
      ])
      assert.deepStrictEqual(yield* problems(`${clientHead}tls_insecure_skip_verify = "yes"\n`), [
        `client.tls_insecure_skip_verify (line 3): expected true or false, got "yes"`
      ])
      assert.deepStrictEqual(yield* problems(`${clientHead}edge_ip = "not an address!"\n`), [
        `client.edge_ip (line 3): edge_ip "not an address!" is not an address; expected an IP or host, with or without :port`
      ])
    }))

  it.effect("wss without its files, with missing files, with files that are not PEM, with a key of another pair", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* problems(`${serverHead}transport = "wss"\n`), [
        `server.tls_cert: required for transport "wss": a PEM file (see the README for a self-signed pair)`,
        `server.tls_key: required for transport "wss": a PEM file (see the README for a self-signed pair)`
      ])
      assert.deepStrictEqual(yield* problems(`${serverHead}transport = "wssmux"\ntls_cert = "/nonexistent/c.pem"\ntls_key = "${garbage}"\n`), [
        "server.tls_cert (line 5): cannot read /nonexistent/c.pem: file not found",
        `server.tls_key (line 6): ${garbage} holds no PEM private key`
      ])
      assert.deepStrictEqual(yield* problems(`${serverHead}transport = "wss"\ntls_cert = "${garbage}"\ntls_key = "${certs.key}"\n`), [
        `server.tls_cert (line 5): ${garbage} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`
      ])
      assert.deepStrictEqual(yield* problems(`${serverHead}transport = "wss"\ntls_cert = "${certs.cert}"\ntls_key = "${other.key}"\n`), [
        `server.tls_key (line 6): the key in ${other.key} does not belong to the certificate in tls_cert`
      ])
      assert.deepStrictEqual(yield* problems(`${clientHead}transport = "wss"\ntls_ca = "${garbage}"\n`), [
        `client.tls_ca (line 4): ${garbage} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`
      ])
      // a client trusting the system store needs no file
      assert.strictEqual((yield* parse(`${clientHead}transport = "wss"\n`)).config.transport, "wss")
    }))
})
