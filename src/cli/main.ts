/**
 * Entry point, the only impure file: runs the role of a service command line (`-c file`, see
 * `ServiceArgs.ts`) directly, and hands every other command line to the full CLI, which is loaded only
 * then. The outcome becomes the exit code; SIGINT/SIGTERM interrupt the program, closing every scope, and
 * exit 0 (`RunMain.ts`).
 */
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { runRole } from "./Run.ts"
import { runMain } from "./RunMain.ts"
import * as ServiceArgs from "./ServiceArgs.ts"

const args = process.argv.slice(2)
const service = ServiceArgs.parse(args)

const fullCli = Effect.gen(function*() {
  const [Commands, NodeContext, PlainConsole] = yield* Effect.promise(() =>
    Promise.all([import("./Commands.ts"), import("@effect/platform-node/NodeContext"), import("./PlainConsole.ts")])
  )
  const noColor = process.env.NO_COLOR
  return yield* Commands.run(args, {
    interactive: process.stdin.isTTY === true,
    colour: {
      stdout: PlainConsole.colourAllowed(process.stdout.isTTY, noColor),
      stderr: PlainConsole.colourAllowed(process.stderr.isTTY, noColor)
    }
  }).pipe(Effect.provide(NodeContext.layer))
})

const program = (service ? runRole(service.path, service.role, service.format, service.level) : fullCli).pipe(
  Effect.catchTag("CliExit", (e) => Effect.sync(() => (process.exitCode = e.code))),
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(`backhaul: unexpected failure\n${Cause.pretty(cause)}`)
  )
)

runMain(program, (exit) => {
  if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) return 1
  const code = process.exitCode ?? 0
  return typeof code === "number" ? code : Number(code)
})
