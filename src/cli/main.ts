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

const service = ServiceArgs.parse(process.argv.slice(2))

const fullCli = Effect.gen(function*() {
  const [{ cli }, NodeContext, ValidationError] = yield* Effect.promise(() =>
    Promise.all([
      import("./Commands.ts"),
      import("@effect/platform-node/NodeContext"),
      import("@effect/cli/ValidationError")
    ])
  )
  return yield* cli(process.argv).pipe(
    // @effect/cli has already printed what was wrong with the arguments
    Effect.catchIf(ValidationError.isValidationError, () => Effect.sync(() => (process.exitCode = 2))),
    Effect.provide(NodeContext.layer)
  )
})

const program = (service ? runRole(service.path, service.role, service.format) : fullCli).pipe(
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
