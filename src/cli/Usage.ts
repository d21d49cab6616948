/**
 * The command line as data: every command and option with what it means. The help text (`Help.ts`), the
 * completion scripts (`Completions.ts`) and the argument checks (`Argv.ts`) all read this table, so they
 * cannot disagree with each other. Pure data: the service path loads it too.
 */

/**
 * Levels `--log-level` takes. No `trace`: nothing in backhaul logs below debug, so a trace level would be
 * debug under another name (a file's `log_level = "trace"`, kept for Go configs, logs as debug).
 */
export const logLevels = ["none", "error", "warn", "info", "debug"] as const
export type LogLevelChoice = (typeof logLevels)[number]

/** Formats `--log-format` takes. */
export const logFormats = ["logfmt", "json"] as const
export type LogFormatChoice = (typeof logFormats)[number]

/** Shells `--completions` writes a script for (`sh` is bash's script). */
export const shells = ["bash", "zsh", "fish", "sh"] as const
export type Shell = (typeof shells)[number]

/** The role names `server`/`client` and `check --role` take. */
export const roles = ["server", "client"] as const

/** One option. */
export interface OptionSpec {
  readonly long: `--${string}`
  readonly short?: `-${string}`
  /** the value's name in help (`FILE`); absent for a flag */
  readonly value?: string
  /** the only values accepted (completed as words) */
  readonly choices?: ReadonlyArray<string>
  /** the value completes as a file name */
  readonly file?: boolean
  readonly description: string
}

/** Every option, by key. */
export const options = {
  config: {
    long: "--config",
    short: "-c",
    value: "FILE",
    file: true,
    description: "the TOML config file, with a [server] or a [client] section (see README.md)"
  },
  role: {
    long: "--role",
    value: "ROLE",
    choices: roles,
    description: "check: which section to check when the file has both [server] and [client]"
  },
  logLevel: {
    long: "--log-level",
    value: "LEVEL",
    choices: logLevels,
    description: `${logLevels.join(", ")}; overrides the file's log_level. none: not one log line ` +
      "(a failure that stops backhaul is still printed). No trace: nothing is logged below debug, and a file's " +
      "log_level = \"trace\" logs as debug"
  },
  logFormat: {
    long: "--log-format",
    value: "FORMAT",
    choices: logFormats,
    description: "logfmt (default) or json: one line per event, on stderr"
  },
  hold: {
    long: "--hold",
    description: "demo: keep the tunnel up (and print how to try it) until Ctrl-C"
  },
  completions: {
    long: "--completions",
    value: "SHELL",
    choices: shells,
    description: "print a completion script for bash, zsh or fish (sh: the bash one)"
  },
  wizard: {
    long: "--wizard",
    description: "build a command line by answering questions (needs an interactive terminal)"
  },
  help: {
    long: "--help",
    short: "-h",
    description: "show this help; `backhaul COMMAND --help` shows one command's"
  },
  version: {
    long: "--version",
    description: "print the version"
  }
} as const satisfies Record<string, OptionSpec>

export type OptionKey = keyof typeof options

/** The options that set how a command logs (refused where nothing logs). */
export const logOptions: ReadonlyArray<OptionKey> = ["logLevel", "logFormat"]

/** Options every command line takes, answered before any command runs. */
export const builtInOptions: ReadonlyArray<OptionKey> = ["help", "version", "completions", "wizard"]

/** A subcommand. */
export interface CommandSpec {
  readonly name: "server" | "client" | "check" | "demo"
  readonly summary: string
  /** usage line after `backhaul NAME` */
  readonly usage: string
  readonly options: ReadonlyArray<OptionKey>
}

/** `backhaul -c FILE` with no command: what it runs and takes. */
export const root = {
  summary: "run the role of the file's only section ([server] or [client])",
  usage: "-c FILE [--log-level LEVEL] [--log-format FORMAT]",
  options: ["config", "logLevel", "logFormat"] as ReadonlyArray<OptionKey>
}

/** Every subcommand. */
export const commands: ReadonlyArray<CommandSpec> = [
  {
    name: "server",
    summary: "run the server role (the reachable host) from the [server] section",
    usage: "-c FILE [--log-level LEVEL] [--log-format FORMAT]",
    options: ["config", "logLevel", "logFormat"]
  },
  {
    name: "client",
    summary: "run the client role (behind NAT) from the [client] section",
    usage: "-c FILE [--log-level LEVEL] [--log-format FORMAT]",
    options: ["config", "logLevel", "logFormat"]
  },
  {
    name: "check",
    summary: "validate a config file and print what would run; exit 1 on any problem",
    usage: "-c FILE [--role server|client]",
    options: ["config", "role"]
  },
  {
    name: "demo",
    summary: "run server, client and an echo target on loopback and show traffic going through",
    usage: "[--hold] [--log-level LEVEL] [--log-format FORMAT]",
    options: ["hold", "logLevel", "logFormat"]
  }
]

export type CommandName = CommandSpec["name"]

/** The command named `name`, if there is one. */
export const command = (name: string): CommandSpec | undefined => commands.find((c) => c.name === name)

/** How an option is written in messages and help: `-c, --config FILE`. */
export const optionLabel = (spec: OptionSpec): string =>
  `${spec.short === undefined ? "" : `${spec.short}, `}${spec.long}${spec.value === undefined ? "" : ` ${spec.value}`}`
