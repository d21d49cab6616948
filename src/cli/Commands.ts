/**
 * The full command line: reads it (`Argv.ts`), answers the built-ins from our own table (help, version,
 * completions), and hands the rest to @effect/cli, which parses the commands and wires config, logger and
 * role layers together. No tunnel logic lives here.
 *
 *   backhaul -c config.toml                  role from the section present ([server] or [client])
 *   backhaul server -c config.toml           force the role
 *   backhaul client -c config.toml
 *   backhaul check -c config.toml [--role R] validate and summarize, exit 1 on any problem
 *   backhaul demo                            server + client + echo target on loopback, no config needed
 *
 * `--log-level` and `--log-format` may stand anywhere on the line; @effect/cli never sees them (its own
 * `--log-level` is a different thing: it sets a level the config's would then override).
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import pkg from "../../package.json" with { type: "json" }
import * as Load from "../config/Load.ts"
import * as Argv from "./Argv.ts"
import * as Completions from "./Completions.ts"
import * as Demo from "./Demo.ts"
import * as Help from "./Help.ts"
import * as Logging from "./Logging.ts"
import * as PlainConsole from "./PlainConsole.ts"
import { CliExit, explain, runRole } from "./Run.ts"
import * as Usage from "./Usage.ts"

/** What the full CLI needs to know of the process it runs in (`main.ts` reads it). */
export interface Environment {
  /** stdin is a terminal: the wizard can ask questions */
  readonly interactive: boolean
  /** colour codes may be written to stdout / stderr */
  readonly colour: { readonly stdout: boolean; readonly stderr: boolean }
}

const describe = (key: Usage.OptionKey) => (Usage.options[key] as Usage.OptionSpec).description

const configOption = Options.text("config").pipe(Options.withAlias("c"), Options.withDescription(describe("config")))
const roleOption = Options.choice("role", Usage.roles).pipe(Options.optional, Options.withDescription(describe("role")))
const holdOption = Options.boolean("hold").pipe(Options.withDescription(describe("hold")))

const commandSummary = (name: Usage.CommandName) => Usage.command(name)!.summary

/** The @effect/cli commands, with the log options read by `Argv` already. */
const root = (line: Argv.Line) => {
  const format = line.format ?? "logfmt"
  const role = (name: "server" | "client") =>
    Command.make(name, { config: configOption }, ({ config }) => runRole(config, name, format, line.level)).pipe(
      Command.withDescription(commandSummary(name))
    )
  const check = Command.make("check", { config: configOption, role: roleOption }, ({ config: path, role }) =>
    explain(Effect.gen(function*() {
      const { config, warnings } = yield* Load.loadConfigFile(path, Option.getOrUndefined(role))
      for (const w of warnings) yield* Console.log(`warning: ${w}`)
      yield* Console.log(Load.summarize(config))
    }))).pipe(Command.withDescription(commandSummary("check")))
  const demo = Command.make("demo", { hold: holdOption }, ({ hold }) =>
    explain(Demo.run({ hold })).pipe(Effect.provide(Logging.layer("info", format, line.level)))).pipe(
      Command.withDescription(commandSummary("demo"))
    )
  return Command.make("backhaul", { config: Options.optional(configOption) }, (a) =>
    Option.match(a.config, {
      onNone: () =>
        Effect.zipRight(
          Console.error("backhaul: give a config file (-c config.toml), a command, or --help"),
          new CliExit({ code: 2 })
        ),
      onSome: (path) => runRole(path, undefined, format, line.level)
    })).pipe(
      Command.withDescription(Usage.root.summary),
      Command.withSubcommands([role("server"), role("client"), check, demo])
    )
}

const badLine = (message: string) =>
  Effect.zipRight(
    Console.error(`backhaul: ${message}\nRun \`backhaul --help\` for the commands and options.`),
    new CliExit({ code: 2 })
  )

/** Runs the command line `args` (argv without the runtime and the script). */
export const run = (args: ReadonlyArray<string>, environment: Environment) => {
  const parsed = (line: Argv.Line, extra: ReadonlyArray<string>) =>
    Command.run(root(line), { name: "backhaul", version: pkg.version })(["backhaul", "backhaul", ...line.rest, ...extra]).pipe(
      // @effect/cli has already printed what was wrong with the arguments
      Effect.catchIf(ValidationError.isValidationError, () => new CliExit({ code: 2 }))
    )
  const program = Either.match(Argv.read(args), {
    onLeft: badLine,
    onRight: (line) => {
      switch (line.builtIn?._tag) {
        case undefined:
          return parsed(line, [])
        case "Help":
          return Console.log(line.builtIn.command === undefined ? Help.root(pkg.version) : Help.command(line.builtIn.command))
        case "Version":
          return Console.log(pkg.version)
        case "Completions":
          return Console.log(Completions.script(line.builtIn.shell).trimEnd())
        case "Wizard":
          // without a terminal the wizard's prompts wait for keys that can never come
          return environment.interactive
            ? parsed(line, ["--wizard"])
            : badLine("--wizard needs an interactive terminal (stdin is not one); write the command line instead")
      }
    }
  })
  return Console.consoleWith((base) => Effect.withConsole(program, PlainConsole.make(base, environment.colour)))
}
