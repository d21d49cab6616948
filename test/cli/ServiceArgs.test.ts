/**
 * Which command lines take the service path (no full CLI loaded) and which go to the full parser.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ServiceArgs from "../../src/cli/ServiceArgs.ts"

describe("ServiceArgs", () => {
  it("takes the lines a service manager runs", () => {
    assert.deepStrictEqual(ServiceArgs.parse(["-c", "a.toml"]), { path: "a.toml", role: undefined, format: "logfmt" })
    assert.deepStrictEqual(ServiceArgs.parse(["--config", "a.toml"]), { path: "a.toml", role: undefined, format: "logfmt" })
    assert.deepStrictEqual(ServiceArgs.parse(["--config=a.toml"]), { path: "a.toml", role: undefined, format: "logfmt" })
    assert.deepStrictEqual(ServiceArgs.parse(["server", "-c", "/etc/b.toml"]), { path: "/etc/b.toml", role: "server", format: "logfmt" })
    assert.deepStrictEqual(
      ServiceArgs.parse(["client", "--log-format", "json", "-c", "b.toml"]),
      { path: "b.toml", role: "client", format: "json" }
    )
    assert.deepStrictEqual(ServiceArgs.parse(["-c", "a.toml", "--log-format=json"]), { path: "a.toml", role: undefined, format: "json" })
  })

  it("leaves everything else to the full CLI, which explains it", () => {
    for (
      const args of [
        [],
        ["--help"],
        ["--version"],
        ["check", "-c", "a.toml"],
        ["demo"],
        ["-c"],
        ["-c", "a.toml", "-c", "b.toml"],
        ["-c", "--help"],
        ["-c", "a.toml", "--log-format", "xml"],
        ["-c", "a.toml", "--verbose"],
        ["server"],
        ["server", "client", "-c", "a.toml"],
        ["-c", ""]
      ]
    ) assert.isUndefined(ServiceArgs.parse(args), args.join(" "))
  })
})
