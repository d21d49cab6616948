/**
 * The first reading of a command line, before any parser: the options that apply to every command
 * (`--log-level`, `--log-format`) taken out wherever they stand, the built-ins (`--help`, `--version`,
 * `--completions`, `--wizard`) recognized, and the mistakes named in words — a `-c` without a path, a
 * level that does not exist, an option given twice or on the wrong command, a misspelt command.
 * @effect/cli then parses what is left (`rest`); it would otherwise call a global option after `-c`, a
 * `-c` with no value and an unknown option all an "Invalid subcommand". Pure, and small: the service
 * path (`ServiceArgs.ts`) uses it too.
 */
import * as Either from "effect/Either"
import * as DidYouMean from "../config/DidYouMean.ts"
import * as Usage from "./Usage.ts"

/** A built-in answered without running a command. */
export type BuiltIn =
  | { readonly _tag: "Help"; readonly command: Usage.CommandName | undefined }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Completions"; readonly shell: Usage.Shell }
  | { readonly _tag: "Wizard" }

/** A command line that reads well. */
export interface Line {
  /** the subcommand named, if any */
  readonly command: Usage.CommandName | undefined
  readonly level: Usage.LogLevelChoice | undefined
  readonly format: Usage.LogFormatChoice | undefined
  readonly builtIn: BuiltIn | undefined
  /**
   * the command line without what was answered here, for @effect/cli: the command first, then the other
   * options in order, `-c`/`--role` spelt `--config VALUE`/`--role VALUE`
   */
  readonly rest: ReadonlyArray<string>
}

const bySpelling = new Map<string, Usage.OptionKey>(
  Object.entries(Usage.options).flatMap(([key, spec]) => {
    const names: Array<[string, Usage.OptionKey]> = [[spec.long, key as Usage.OptionKey]]
    if ("short" in spec) names.push([spec.short, key as Usage.OptionKey])
    return names
  })
)

/** How the user spelt an option in a message: `-c` when they wrote `-c`. */
const spelt = (written: string, key: Usage.OptionKey): string => (written.startsWith("--") ? Usage.options[key].long : written)

const missingValue = (written: string, key: Usage.OptionKey): string => {
  const spec: Usage.OptionSpec = Usage.options[key]
  if (key === "config") return `${spelt(written, key)} needs a config file path: backhaul ${spelt(written, key)} FILE`
  return `${spec.long} needs a value: ${spec.choices === undefined ? spec.value : `one of ${spec.choices.join(", ")}`}`
}

/** The closest choice to a mistyped value (`warning` → `warn`). */
const suggestion = (value: string, choices: ReadonlyArray<string>): string | undefined =>
  DidYouMean.closest(value, choices) ?? choices.find((c) => value.toLowerCase().startsWith(c))

const badChoice = (key: Usage.OptionKey, value: string): string => {
  const spec: Usage.OptionSpec = Usage.options[key]
  if (key === "logLevel" && value === "trace") {
    return "--log-level trace: nothing is logged below debug, so there is no trace level; use --log-level debug"
  }
  const choices = spec.choices ?? []
  const near = suggestion(value, choices)
  return `${spec.long} ${JSON.stringify(value)} is not one of ${choices.join(", ")}` +
    (near === undefined ? "" : `; did you mean ${near}?`)
}

const knownSpellings = [...bySpelling.keys()]
const commandNames = Usage.commands.map((c) => c.name)

/** What is wrong with a word that is no option we know, if anything (`commandSeen`: the command is behind us). */
const strayWord = (arg: string, command: Usage.CommandName | undefined, commandSeen: boolean): string | undefined => {
  if (arg.startsWith("-") && arg !== "-") {
    const written = arg.startsWith("--") && arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg
    const near = DidYouMean.closest(written, knownSpellings)
    return `unknown option ${written}${near === undefined ? "" : `; did you mean ${near}?`}`
  }
  if (arg === command && !commandSeen) return undefined
  if (command !== undefined) return `unexpected ${JSON.stringify(arg)}: ${command} takes options only`
  const near = DidYouMean.closest(arg, commandNames)
  return `${JSON.stringify(arg)} is not a command; the commands are ${commandNames.join(", ")}` +
    (near === undefined ? "" : `; did you mean ${near}?`)
}

/** Why an option does not belong on this command line, if it does not (log options on check: see `read`). */
const misplacedOption = (written: string, key: Usage.OptionKey, command: Usage.CommandName | undefined): string | undefined => {
  if (Usage.builtInOptions.includes(key)) return undefined
  if (command === "check" && Usage.logOptions.includes(key)) return undefined
  const accepted = command === undefined ? Usage.root.options : Usage.command(command)!.options
  if (accepted.includes(key)) return undefined
  const owners = Usage.commands.filter((c) => c.options.includes(key)).map((c) => c.name)
  const who = owners.length === 1 ? `${owners[0]} does` : `${owners.slice(0, -1).join(", ")} and ${owners.at(-1)} do`
  return `${command ?? "backhaul -c FILE"} takes no ${spelt(written, key)} (${who})`
}

/** A value is missing when there is none, it is empty, or the next word is an option. */
const isMissing = (value: string | undefined): value is undefined => value === undefined || value === "" || value.startsWith("-")

/** The subcommand named: the first word that is a command and not the value of an option (`-c server`). */
const commandOf = (options: ReadonlyArray<string>): Usage.CommandName | undefined => {
  for (let i = 0; i < options.length; i++) {
    const key = bySpelling.get(options[i]!)
    if (key !== undefined && (Usage.options[key] as Usage.OptionSpec).value !== undefined) {
      if (!isMissing(options[i + 1])) i++
      continue
    }
    const named = Usage.command(options[i]!)
    if (named !== undefined) return named.name
  }
  return undefined
}

/** Reads `args` (argv without the runtime and the script): the line, or what is wrong with it. */
export const read = (args: ReadonlyArray<string>): Either.Either<Line, string> => {
  const end = args.indexOf("--")
  const options = end < 0 ? args : args.slice(0, end)
  const command = commandOf(options)
  // help is what someone lost wants, whatever else is wrong with the line
  if (options.some((a) => a === "--help" || a === "-h")) {
    return Either.right({ command, level: undefined, format: undefined, builtIn: { _tag: "Help", command }, rest: [] })
  }
  const rest: Array<string> = []
  const seen = new Map<Usage.OptionKey, string>()
  let builtIn: BuiltIn | undefined
  let commandSeen = false
  let i = 0
  while (i < options.length) {
    const arg = options[i++]!
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1
    const written = eq > 0 ? arg.slice(0, eq) : arg
    const key = bySpelling.get(written)
    if (key === undefined) {
      const stray = strayWord(arg, command, commandSeen)
      if (stray !== undefined) return Either.left(stray)
      commandSeen = true
      continue
    }
    const spec: Usage.OptionSpec = Usage.options[key]
    const misplaced = misplacedOption(written, key, command)
    if (misplaced !== undefined) return Either.left(misplaced)
    if (seen.has(key)) return Either.left(`${spelt(written, key)} is given twice`)
    let value: string | undefined
    if (spec.value !== undefined) {
      value = eq > 0 ? arg.slice(eq + 1) : options[i]
      if (isMissing(value)) return Either.left(missingValue(written, key))
      if (eq < 0) i++
      if (spec.choices !== undefined && !spec.choices.includes(value)) return Either.left(badChoice(key, value))
    } else if (eq > 0) {
      return Either.left(`${spec.long} takes no value`)
    }
    seen.set(key, value ?? "")
    switch (key) {
      case "config":
      case "role":
        rest.push(spec.long, value!)
        break
      case "version":
        builtIn ??= { _tag: "Version" }
        break
      case "wizard":
        builtIn ??= { _tag: "Wizard" }
        break
      case "completions":
        builtIn ??= { _tag: "Completions", shell: value as Usage.Shell }
        break
      case "logLevel":
      case "logFormat":
        break
      default:
        rest.push(arg)
    }
  }
  if (command === "check") {
    const given = Usage.logOptions.filter((k) => seen.has(k)).map((k) => Usage.options[k].long)
    if (given.length > 0) {
      const verb = given.length === 1 ? "applies" : "apply"
      return Either.left(`check prints a summary and logs nothing: ${given.join(" and ")} ${verb} to server, client, demo and -c FILE`)
    }
  }
  if (builtIn === undefined && command !== undefined && command !== "demo" && !seen.has("config")) {
    return Either.left(`${command} needs a config file: backhaul ${command} -c FILE`)
  }
  if (end >= 0) rest.push(...args.slice(end))
  return Either.right({
    command,
    level: seen.get("logLevel") as Usage.LogLevelChoice | undefined,
    format: seen.get("logFormat") as Usage.LogFormatChoice | undefined,
    builtIn,
    // the command first, where @effect/cli looks for it: `-c FILE server` is `server -c FILE`
    rest: command === undefined ? rest : [command, ...rest]
  })
}
