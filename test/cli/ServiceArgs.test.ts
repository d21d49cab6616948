/**
 * Which command lines take the service path (no full CLI loaded) and which go to the full parser.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ServiceArgs from "../../src/cli/ServiceArgs.ts"

const line = (path: string, role: "server" | "client" | undefined, more: Partial<ServiceArgs.ServiceArgs> = {}) => ({
  path,
  role,
  format: "logfmt",
  level: undefined,
  ...more
})

describe("ServiceArgs", () => {
  it("takes the lines a service manager runs", () => {
    assert.deepStrictEqual(ServiceArgs.parse(["-c", "a.toml"]), line("a.toml", undefined))
    assert.deepStrictEqual(ServiceArgs.parse(["--config", "a.toml"]), line("a.toml", undefined))
    assert.deepStrictEqual(ServiceArgs.parse(["--config=a.toml"]), line("a.toml", undefined))
    assert.deepStrictEqual(ServiceArgs.parse(["server", "-c", "/etc/b.toml"]), line("/etc/b.toml", "server"))
    assert.deepStrictEqual(
      ServiceArgs.parse(["client", "--log-format", "json", "-c", "b.toml"]),
      line("b.toml", "client", { format: "json" })
    )
    assert.deepStrictEqual(ServiceArgs.parse(["-c", "a.toml", "--log-format=json"]), line("a.toml", undefined, { format: "json" }))
  })

  it("takes --log-level and --log-format anywhere, after -c too", () => {
    assert.deepStrictEqual(
      ServiceArgs.parse(["-c", "f.toml", "--log-level", "debug"]),
      line("f.toml", undefined, { level: "debug" })
    )
    assert.deepStrictEqual(
      ServiceArgs.parse(["--log-level=none", "server", "-c", "f.toml", "--log-format", "json"]),
      line("f.toml", "server", { level: "none", format: "json" })
    )
    assert.deepStrictEqual(
      ServiceArgs.parse(["client", "--config=f.toml", "--log-format=json", "--log-level=warn"]),
      line("f.toml", "client", { level: "warn", format: "json" })
    )
    // the command may follow -c, as the options may precede it
    assert.deepStrictEqual(ServiceArgs.parse(["-c", "f.toml", "server"]), line("f.toml", "server"))
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
        ["-c", "a.toml", "--log-level", "trace"],
        ["-c", "a.toml", "--log-level"],
        ["-c", "a.toml", "--verbose"],
        ["-c", "a.toml", "--wizard"],
        ["server"],
        ["server", "client", "-c", "a.toml"],
        ["-c", ""]
      ]
    ) assert.isUndefined(ServiceArgs.parse(args), args.join(" "))
  })
})
