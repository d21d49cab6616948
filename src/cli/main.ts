/**
 * Entry point, the only impure file: hands argv to the CLI under the Node runtime (which Bun and Deno
 * also run), and turns the outcome into an exit code. SIGINT/SIGTERM interrupt the program, closing every
 * scope, and exit 0.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { cli } from "./Commands.ts"

const program = cli(process.argv).pipe(
  Effect.catchTag("CliExit", (e) => Effect.sync(() => (process.exitCode = e.code))),
  // @effect/cli has already printed what was wrong with the arguments
  Effect.catchIf(ValidationError.isValidationError, () => Effect.sync(() => (process.exitCode = 2))),
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(`backhaul: unexpected failure\n${Cause.pretty(cause)}`)
  ),
  Effect.provide(NodeContext.layer)
)

// runMain turns the first SIGINT/SIGTERM into an interruption (scopes close, exit 0). This listener stays
// registered so that a second signal forces the exit, and so that wrappers such as tsx, which kill the
// process themselves when no other listener is left, leave the graceful path alone.
let signals = 0
const onSignal = () => {
  if (++signals > 1) process.exit(130)
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

NodeRuntime.runMain(program, {
  disablePrettyLogger: true,
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    const code = Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : process.exitCode ?? 0
    onExit(typeof code === "number" ? code : Number(code))
  }
})
