/**
 * The help text and the completion scripts, from the CLI table: every option described in words, no
 * colour codes, and bash completing each choice as its own word.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Completions from "../../src/cli/Completions.ts"
import * as Help from "../../src/cli/Help.ts"
import * as PlainConsole from "../../src/cli/PlainConsole.ts"
import * as Usage from "../../src/cli/Usage.ts"
import * as Bash from "./Bash.ts"

describe("help", () => {
  it("describes every command and option in words, without escape codes or type filler", () => {
    const texts = [Help.root("1.2.3"), ...Usage.commands.map((c) => Help.command(c.name))]
    for (const text of texts) {
      assert.notInclude(text, "\u001b")
      assert.notInclude(text, "A user-defined piece of text")
      for (const l of text.split("\n")) assert.isAtMost(l.length, 100, l)
    }
    const root = texts[0]!
    assert.include(root, "1.2.3")
    for (const c of Usage.commands) assert.include(root, c.summary)
    for (const spec of Object.values(Usage.options)) {
      assert.include(root, Usage.optionLabel(spec))
      // descriptions are wrapped: compare words
      assert.include(root.replace(/\s+/g, " "), spec.description)
    }
    assert.include(Help.command("check"), "--role")
    assert.notInclude(Help.command("check"), "--log-level")
  })
})

describe("bash completion", () => {
  const script = Completions.script("bash")

  it("offers each choice as its own word", () => {
    assert.deepStrictEqual(Bash.complete(script, ["backhaul", "--log-format", ""]), ["json", "logfmt"])
    assert.deepStrictEqual(Bash.complete(script, ["backhaul", "--log-level", ""]), ["debug", "error", "info", "none", "warn"])
    assert.deepStrictEqual(Bash.complete(script, ["backhaul", "--log-level", "d"]), ["debug"])
    assert.deepStrictEqual(Bash.complete(script, ["backhaul", "check", "-c", "f", "--role", ""]), ["client", "server"])
    assert.deepStrictEqual(Bash.complete(script, ["backhaul", "--completions", ""]), ["bash", "fish", "sh", "zsh"])
  })

  it("offers the commands and options of where the line is", () => {
    const top = Bash.complete(script, ["backhaul", ""])
    assert.includeMembers(top, ["check", "client", "demo", "server", "-c", "--log-level", "--help", "--version"])
    assert.notInclude(top, "--hold")
    const demo = Bash.complete(script, ["backhaul", "demo", "--"])
    assert.includeMembers(demo, ["--hold", "--log-format", "--log-level", "--help"])
    assert.notInclude(demo, "--config")
    // `-c server`: server is the file, not the command
    assert.include(Bash.complete(script, ["backhaul", "-c", "server", "--"]), "--version")
  })

  it("zsh runs the same script through bashcompinit; fish lists choices as separate words", () => {
    assert.include(Completions.script("zsh"), "bashcompinit")
    assert.include(Completions.script("zsh"), script)
    assert.strictEqual(Completions.script("sh"), script)
    const fish = Completions.script("fish")
    assert.include(fish, "-l log-format -x -a 'logfmt json'")
    assert.notInclude(fish, "logfmt,json")
  })
})

describe("PlainConsole", () => {
  it("allows colour only on a terminal without NO_COLOR", () => {
    assert.isTrue(PlainConsole.colourAllowed(true, undefined))
    assert.isTrue(PlainConsole.colourAllowed(true, ""))
    assert.isFalse(PlainConsole.colourAllowed(true, "1"))
    assert.isFalse(PlainConsole.colourAllowed(false, undefined))
    assert.isFalse(PlainConsole.colourAllowed(undefined, undefined))
  })

  it("strips colour and cursor sequences, nothing else", () => {
    assert.strictEqual(PlainConsole.strip("\u001b[0;1m\u001b[0;37;1mbackhaul\u001b[0m ok"), "backhaul ok")
    assert.strictEqual(PlainConsole.strip("\u001b[?25lhidden\u001b[?25h"), "hidden")
    assert.strictEqual(PlainConsole.strip("plain [text] 100%"), "plain [text] 100%")
  })
})
