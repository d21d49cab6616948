/**
 * The process logger: `--log-level` beats the config's level both ways, `none` silences every line, and
 * the format is the one asked for.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logging from "../../src/cli/Logging.ts"
import type * as Usage from "../../src/cli/Usage.ts"
import type { LogLevelName } from "../../src/config/Config.ts"

/**
 * The lines logged at every level under a logger layer, captured from the console it writes to. Each run
 * is a fresh root fiber: the layer's logger must not stay installed for the next run.
 */
const logged = (config: LogLevelName, format: Logging.LogFormat, override?: Usage.LogLevelChoice) =>
  Effect.sync(() => Effect.runSync(Console.consoleWith((base) => {
    const lines: Array<string> = []
    // loggers write synchronously, through the console's `unsafe` side
    const capture: Console.Console = { ...base, unsafe: { ...base.unsafe, error: (...args) => void lines.push(args.join(" ")) } }
    return Effect.gen(function*() {
      yield* Effect.logFatal("fatal line")
      yield* Effect.logError("error line")
      yield* Effect.logWarning("warn line")
      yield* Effect.logInfo("info line")
      yield* Effect.logDebug("debug line")
      yield* Effect.logTrace("trace line")
    }).pipe(Effect.provide(Logging.layer(config, format, override)), Effect.withConsole(capture), Effect.as(lines))
  })))

const messages = (lines: ReadonlyArray<string>) => lines.map((l) => /(\w+) line/.exec(l)?.[1])

describe("Logging.layer", () => {
  it.effect("the config's level applies when the command line gives none", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(messages(yield* logged("warn", "logfmt")), ["fatal", "error", "warn"])
    }))

  it.effect("--log-level beats the config's, up or down", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(messages(yield* logged("error", "logfmt", "debug")), ["fatal", "error", "warn", "info", "debug"])
      assert.deepStrictEqual(messages(yield* logged("debug", "logfmt", "warn")), ["fatal", "error", "warn"])
    }))

  it.effect("none: not one line, fatal included", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* logged("trace", "logfmt", "none"), [])
    }))

  it.effect("json lines parse, logfmt lines are key=value", () =>
    Effect.gen(function*() {
      const json = yield* logged("info", "json")
      assert.strictEqual(json.length, 4)
      for (const l of json) assert.strictEqual((JSON.parse(l) as { message: string }).message.endsWith(" line"), true)
      for (const l of yield* logged("info", "logfmt")) assert.match(l, /^timestamp=\S+ level=\w+ /)
    }))
})
