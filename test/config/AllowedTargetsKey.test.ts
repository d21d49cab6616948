/**
 * The client's `allowed_targets` key in a file: its default (absent: any target, so the Go tool's
 * configs keep working), values, errors naming the key, the entry and the line, and what `check` says.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import type { ClientConfig } from "../../src/config/Config.ts"
import * as Load from "../../src/config/Load.ts"

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const parse = (text: string) => Load.parseConfigText(text, "test.toml", "client")
const client = (text: string) => Effect.map(parse(text), ({ config }) => config as ClientConfig)
const head = `[client]\nremote_addr = "203.0.113.7:3080"\n`

describe("allowed_targets in a file", () => {
  it.effect("absent: any target, and check says so", () =>
    Effect.gen(function*() {
      const c = yield* client(head)
      assert.isUndefined(c.allowed_targets)
      assert.include(Load.summarize(c), "allowed targets: any (set allowed_targets to restrict)")
    }))

  it.effect("the README's and the newer Go tool's client configs load with any target allowed", () =>
    Effect.gen(function*() {
      for (const name of ["readme-client.toml", "readme-tcp-client.toml", "readme-tcpmux-client.toml", "go-newer-client.toml"]) {
        const { config } = yield* Load.loadConfigFile(fixture(name), "client")
        assert.include(Load.summarize(config), "allowed targets: any", name)
      }
    }))

  it.effect("a list is kept as written (trimmed) and check lists it", () =>
    Effect.gen(function*() {
      const c = yield* client(`${head}allowed_targets = [" 127.0.0.1:8080", "10.0.0.0/8:*", "[fd00::/8]:*", "db.lan:5432", "*:443"]\n`)
      assert.deepStrictEqual(c.allowed_targets, ["127.0.0.1:8080", "10.0.0.0/8:*", "[fd00::/8]:*", "db.lan:5432", "*:443"])
      assert.include(Load.summarize(c), "allowed targets: 127.0.0.1:8080, 10.0.0.0/8:*, [fd00::/8]:*, db.lan:5432, *:443")
    }))

  it.effect("check says forwarder entries are not subject to it", () =>
    Effect.gen(function*() {
      const c = yield* client(`${head}forwarder = ["4000=10.9.9.9:80"]\nallowed_targets = ["127.0.0.1:*"]\n`)
      assert.include(Load.summarize(c), "allowed targets: 127.0.0.1:* (forwarder entries are dialed as written)")
    }))

  it.effect("an empty list: nothing the server names is dialed", () =>
    Effect.gen(function*() {
      const c = yield* client(`${head}allowed_targets = []\n`)
      assert.deepStrictEqual(c.allowed_targets, [])
      assert.include(Load.summarize(c), "allowed targets: none (no forwarder entries either: nothing is dialed)")
      const f = yield* client(`${head}forwarder = ["4000=127.0.0.1:80"]\nallowed_targets = []\n`)
      assert.include(Load.summarize(f), "allowed targets: none (only forwarder entries are dialed)")
    }))

  it.effect("every bad entry is reported with the key, the entry and its line", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parse(
        `${head}allowed_targets = [\n  "127.0.0.1:80",\n  "10.0.0.0/33:*",\n  "::1:22",\n  "web:0",\n]\n`
      ))
      assert.strictEqual(error.reason, "Invalid")
      assert.deepStrictEqual(error.problems, [
        `client.allowed_targets[1] (line 5): "10.0.0.0/33:*": the prefix length "33" must be 0 to 32`,
        `client.allowed_targets[2] (line 6): "::1:22": IPv6 addresses need brackets, like "[::1]:22" or "[fd00::/8]:*"`,
        `client.allowed_targets[3] (line 7): "web:0": ports are 1 to 65535`
      ])
    }))

  it.effect("not an array, or an entry not a string: the key and the line", () =>
    Effect.gen(function*() {
      const one = yield* Effect.flip(parse(`${head}allowed_targets = "127.0.0.1:80"\n`))
      assert.strictEqual(one.problems.length, 1)
      assert.match(one.problems[0]!, /^client\.allowed_targets \(line 3\): expected an array of strings/)
      const num = yield* Effect.flip(parse(`${head}allowed_targets = [8080]\n`))
      assert.match(num.problems[0]!, /^client\.allowed_targets\[0\] \(line 3\): expected a string like "127\.0\.0\.1:8080", got 8080/)
    }))

  it.effect("it is a client key: in [server] it is unknown, with the hint", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Load.parseConfigText(
        `[server]\nbind_addr = "0.0.0.0:3080"\nports = []\nallowed_targets = ["*:*"]\n`,
        "test.toml",
        "server"
      ))
      assert.include(error.problems[0]!, `"allowed_targets" belongs in [client]`)
    }))
})
