/**
 * The first reading of a command line: global options anywhere, built-ins, and every mistake named.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Argv from "../../src/cli/Argv.ts"

const line = (args: ReadonlyArray<string>): Argv.Line => {
  const read = Argv.read(args)
  if (Either.isLeft(read)) assert.fail(`${args.join(" ")}: ${read.left}`)
  return read.right
}

const problem = (args: ReadonlyArray<string>): string => {
  const read = Argv.read(args)
  if (Either.isRight(read)) assert.fail(`${args.join(" ")} was accepted`)
  return read.left
}

describe("Argv.read", () => {
  it("takes the log options out wherever they stand, and spells -c as --config", () => {
    for (
      const args of [
        ["-c", "f.toml", "--log-level", "debug", "--log-format", "json"],
        ["--log-level=debug", "-c", "f.toml", "--log-format=json"],
        ["--log-format", "json", "--config=f.toml", "--log-level", "debug"]
      ]
    ) {
      const l = line(args)
      assert.strictEqual(l.level, "debug", args.join(" "))
      assert.strictEqual(l.format, "json", args.join(" "))
      assert.deepStrictEqual(l.rest, ["--config", "f.toml"], args.join(" "))
      assert.isUndefined(l.command)
    }
    const server = line(["server", "-c", "f.toml", "--log-level", "none"])
    assert.strictEqual(server.command, "server")
    assert.strictEqual(server.level, "none")
    assert.deepStrictEqual(server.rest, ["server", "--config", "f.toml"])
  })

  it("hands the rest to @effect/cli with the command first, and leaves what follows -- alone", () => {
    const l = line(["--hold", "demo", "--", "--log-level", "x"])
    assert.strictEqual(l.command, "demo")
    assert.isUndefined(l.level)
    assert.deepStrictEqual(l.rest, ["demo", "--hold", "--", "--log-level", "x"])
    assert.deepStrictEqual(line(["-c", "f.toml", "server"]).rest, ["server", "--config", "f.toml"])
  })

  it("an option's value is not a command", () => {
    const l = line(["-c", "server"])
    assert.isUndefined(l.command)
    assert.deepStrictEqual(l.rest, ["--config", "server"])
    const check = line(["-c", "demo", "check"])
    assert.strictEqual(check.command, "check")
    assert.deepStrictEqual(check.rest, ["check", "--config", "demo"])
  })

  it("unknown options and words are named, with the likely one", () => {
    assert.strictEqual(problem(["-c", "f", "--verbose"]), "unknown option --verbose")
    assert.strictEqual(problem(["--cofnig=f"]), "unknown option --cofnig; did you mean --config?")
    assert.strictEqual(
      problem(["serve", "-c", "f"]),
      `"serve" is not a command; the commands are server, client, check, demo; did you mean server?`
    )
    assert.strictEqual(problem(["server", "client", "-c", "f"]), `unexpected "client": server takes options only`)
  })

  it("an option of another command is named with the command that takes it", () => {
    assert.strictEqual(problem(["server", "-c", "f", "--hold"]), "server takes no --hold (demo does)")
    assert.strictEqual(problem(["-c", "f", "--role", "server"]), "backhaul -c FILE takes no --role (check does)")
    assert.strictEqual(problem(["demo", "-c", "f"]), "demo takes no -c (server, client and check do)")
  })

  it("server, client and check need -c", () => {
    assert.strictEqual(problem(["server"]), "server needs a config file: backhaul server -c FILE")
    assert.strictEqual(problem(["check", "--role", "client"]), "check needs a config file: backhaul check -c FILE")
    // the wizard asks for it
    assert.deepStrictEqual(line(["server", "--wizard"]).builtIn, { _tag: "Wizard" })
  })

  it("a missing value is named, not taken for a subcommand", () => {
    assert.strictEqual(problem(["-c"]), "-c needs a config file path: backhaul -c FILE")
    assert.strictEqual(problem(["check", "-c"]), "-c needs a config file path: backhaul -c FILE")
    assert.strictEqual(problem(["server", "-c", "--log-level", "info"]), "-c needs a config file path: backhaul -c FILE")
    assert.strictEqual(problem(["--config="]), "--config needs a config file path: backhaul --config FILE")
    assert.strictEqual(problem(["-c", ""]), "-c needs a config file path: backhaul -c FILE")
    assert.strictEqual(problem(["-c", "f", "--log-level"]), "--log-level needs a value: one of none, error, warn, info, debug")
    assert.strictEqual(problem(["--log-format="]), "--log-format needs a value: one of logfmt, json")
    assert.strictEqual(problem(["check", "-c", "f", "--role"]), "--role needs a value: one of server, client")
    assert.strictEqual(problem(["--completions"]), "--completions needs a value: one of bash, zsh, fish, sh")
  })

  it("a value outside the choices lists them, with the likely one", () => {
    assert.strictEqual(
      problem(["--log-level", "verbose"]),
      `--log-level "verbose" is not one of none, error, warn, info, debug`
    )
    assert.include(problem(["--log-level", "warning"]), "did you mean warn?")
    assert.include(problem(["--log-level=inf"]), "did you mean info?")
    assert.include(problem(["--log-format", "jsno"]), "did you mean json?")
    assert.include(problem(["check", "--role", "sever", "-c", "f"]), "did you mean server?")
    assert.include(problem(["--completions", "powershell"]), "bash, zsh, fish, sh")
  })

  it("trace is refused with the reason and what to use", () => {
    assert.strictEqual(
      problem(["-c", "f", "--log-level", "trace"]),
      "--log-level trace: nothing is logged below debug, so there is no trace level; use --log-level debug"
    )
  })

  it("an option given twice, or a flag given a value, is a problem", () => {
    assert.strictEqual(problem(["-c", "a", "-c", "b"]), "-c is given twice")
    assert.strictEqual(problem(["-c", "a", "--config=b"]), "--config is given twice")
    assert.strictEqual(problem(["--log-level", "info", "-c", "a", "--log-level=debug"]), "--log-level is given twice")
    assert.strictEqual(problem(["demo", "--hold=yes"]), "--hold takes no value")
  })

  it("check refuses the log options: it logs nothing", () => {
    assert.strictEqual(
      problem(["check", "-c", "f", "--log-format", "json"]),
      "check prints a summary and logs nothing: --log-format applies to server, client, demo and -c FILE"
    )
    assert.include(problem(["--log-level", "debug", "check", "-c", "f", "--log-format", "json"]), "--log-level and --log-format apply")
  })

  it("recognizes the built-ins; help wins over any mistake", () => {
    assert.deepStrictEqual(line(["--help"]).builtIn, { _tag: "Help", command: undefined })
    assert.deepStrictEqual(line(["server", "-h"]).builtIn, { _tag: "Help", command: "server" })
    assert.deepStrictEqual(line(["-c", "--help"]).builtIn, { _tag: "Help", command: undefined })
    assert.deepStrictEqual(line(["--log-level", "trace", "check", "--help"]).builtIn, { _tag: "Help", command: "check" })
    assert.deepStrictEqual(line(["--version"]).builtIn, { _tag: "Version" })
    assert.deepStrictEqual(line(["--completions", "fish"]).builtIn, { _tag: "Completions", shell: "fish" })
    assert.deepStrictEqual(line(["--completions=bash"]).builtIn, { _tag: "Completions", shell: "bash" })
    const wizard = line(["server", "--wizard"])
    assert.deepStrictEqual(wizard.builtIn, { _tag: "Wizard" })
    assert.deepStrictEqual(wizard.rest, ["server"])
  })
})
