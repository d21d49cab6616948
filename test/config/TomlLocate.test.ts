import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as DidYouMean from "../../src/config/DidYouMean.ts"
import * as Load from "../../src/config/Load.ts"
import * as TomlLocate from "../../src/config/TomlLocate.ts"

const text = `# header comment
top = 1

[client]
ports = []

[ server ] # spaced header
"bind_addr" = "0.0.0.0:3080"
ports = [ "a", # first
  '''b''', """c,
d""",
  "e" ,"f",
  [1, 2], "h"
]
token = "t"

[server.extra]
x = 1
`

describe("TomlLocate.findLine", () => {
  it("finds sections, keys and array elements", () => {
    assert.strictEqual(TomlLocate.findLine(text, ["server"]), 7)
    assert.strictEqual(TomlLocate.findLine(text, ["top"]), 2)
    assert.strictEqual(TomlLocate.findLine(text, ["server", "bind_addr"]), 8)
    assert.strictEqual(TomlLocate.findLine(text, ["server", "ports"]), 9)
    assert.strictEqual(TomlLocate.findLine(text, ["client", "ports"]), 5)
    assert.strictEqual(TomlLocate.findLine(text, ["server", "token"]), 15)
    assert.deepStrictEqual(
      [0, 1, 2, 3, 4, 5, 6].map((i) => TomlLocate.findLine(text, ["server", "ports", i])),
      [9, 10, 10, 12, 12, 13, 13]
    )
  })

  it("gives the key line for an element past the end, undefined for what is not there", () => {
    assert.strictEqual(TomlLocate.findLine(text, ["server", "ports", 40]), 9)
    assert.strictEqual(TomlLocate.findLine(text, ["server", "x"]), undefined)
    assert.strictEqual(TomlLocate.findLine(text, ["nothing"]), undefined)
    assert.strictEqual(TomlLocate.findLine(text, ["nothing", "x"]), undefined)
    assert.strictEqual(TomlLocate.findLine(text, []), undefined)
  })

  it.prop("never throws on random text", { t: FastCheck.string(), k: FastCheck.string() }, ({ t, k }) => {
    TomlLocate.findLine(t, ["server", k, 0])
    TomlLocate.findLine(`[server]\n${k} = [${t}`, ["server", k, 3])
  })
})

describe("DidYouMean", () => {
  it("suggests close candidates only", () => {
    const keys = ["bind_addr", "ports", "heartbeat", "connection_pool"]
    assert.strictEqual(DidYouMean.closest("bind_adr", keys), "bind_addr")
    assert.strictEqual(DidYouMean.closest("port", keys), "ports")
    assert.strictEqual(DidYouMean.closest("HEARTBEAT", keys), "heartbeat")
    assert.strictEqual(DidYouMean.closest("heartbaet", keys), "heartbeat")
    assert.strictEqual(DidYouMean.closest("zzz", keys), undefined)
    assert.strictEqual(DidYouMean.closest("anything", []), undefined)
  })

  it("counts a transposition as one edit", () => {
    assert.strictEqual(DidYouMean.editDistance("ab", "ba"), 1)
    assert.strictEqual(DidYouMean.editDistance("kitten", "sitting"), 3)
    assert.strictEqual(DidYouMean.editDistance("", "abc"), 3)
  })
})

describe("parseConfigText on random input", () => {
  const piece = FastCheck.constantFrom(
    "[server]\n", "[client]\n", "bind_addr = ", "remote_addr = ", "ports = [", "forwarder = [", "]", "\n",
    `"0.0.0.0:3080"`, `"4000=5201"`, `"443-600:5201"`, `"70000"`, ",", "token = ", "= =", `"`, "'''", "1.5",
    "true", "{ a = 1 }", "sniffer = 1\n", "transport = ", `"tcp"`, "#", "[[x]]\n"
  )
  it.prop(
    "never dies: it always succeeds or fails with a ConfigError",
    { parts: FastCheck.array(FastCheck.oneof(piece, FastCheck.string()), { maxLength: 30 }) },
    ({ parts }) => {
      const exit = Effect.runSyncExit(Load.parseConfigText(parts.join(""), "random.toml"))
      if (Exit.isFailure(exit)) {
        assert.isTrue(exit.cause._tag === "Fail", `died: ${String(exit.cause)}`)
      }
    },
    { fastCheck: { numRuns: 500 } }
  )
})
