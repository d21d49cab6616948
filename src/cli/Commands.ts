/**
 * The command line: parses arguments and wires config, logger and role layers together. No tunnel logic
 * lives here.
 *
 *   backhaul -c config.toml            role from the section present ([server] or [client])
 *   backhaul server -c config.toml     force the role
 *   backhaul client -c config.toml
 *   backhaul check -c config.toml      validate and summarize, exit 1 on any problem
 *   backhaul demo                      server + client + echo target on loopback, no config needed
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import pkg from "../../package.json" with { type: "json" }
import * as Load from "../config/Load.ts"
import * as Transports from "../transport/Transports.ts"
import * as Tunnel from "../Tunnel.ts"
import * as Demo from "./Demo.ts"
import * as Logging from "./Logging.ts"
import { CliExit, explain, runRole } from "./Run.ts"

const configOption = Options.text("config").pipe(
  Options.withAlias("c"),
  Options.withDescription("path of the TOML config file")
)
const formatOption = Options.choice("log-format", ["logfmt", "json"]).pipe(
  Options.withDefault("logfmt" as const),
  Options.withDescription("log line format")
)

const serverCommand = Command.make("server", { config: configOption, logFormat: formatOption }, (a) =>
  runRole(a.config, "server", a.logFormat)).pipe(Command.withDescription("run the server role (reachable host)"))

const clientCommand = Command.make("client", { config: configOption, logFormat: formatOption }, (a) =>
  runRole(a.config, "client", a.logFormat)).pipe(Command.withDescription("run the client role (behind NAT)"))

const checkCommand = Command.make("check", { config: configOption }, ({ config: path }) =>
  explain(Effect.gen(function*() {
    const { config, warnings } = yield* Load.loadConfigFile(path)
    const support = Transports.layerFor(config)
    if (Either.isLeft(support)) return yield* new Tunnel.UnsupportedError({ detail: `${config.role}.transport: ${support.left}` })
    for (const w of warnings) yield* Console.log(`warning: ${w}`)
    yield* Console.log(Load.summarize(config))
  }))).pipe(Command.withDescription("validate a config file and print what would run"))

const demoCommand = Command.make("demo", {
  hold: Options.boolean("hold").pipe(Options.withDescription("keep the demo tunnel running until Ctrl-C"))
}, ({ hold }) => explain(Demo.run({ hold })).pipe(Effect.provide(Logging.layer("info", "logfmt")))).pipe(
  Command.withDescription("run server, client and an echo target on loopback and show traffic going through")
)

const root = Command.make("backhaul", { config: Options.optional(configOption), logFormat: formatOption }, (a) =>
  Option.match(a.config, {
    onNone: () =>
      Effect.zipRight(
        Console.error("backhaul: give a config file (-c config.toml), a subcommand, or --help"),
        new CliExit({ code: 2 })
      ),
    onSome: (path) => runRole(path, undefined, a.logFormat)
  })).pipe(
    Command.withDescription("reverse tunnel through NAT and firewalls"),
    Command.withSubcommands([serverCommand, clientCommand, checkCommand, demoCommand])
  )

/** The CLI, ready for `process.argv`. */
export const cli = Command.run(root, { name: "backhaul", version: pkg.version })
