/**
 * Colour only where it can be seen: @effect/cli writes ANSI colour codes into every message it prints,
 * which turn into `^[[0;1m` noise in a pipe, a log file or under `NO_COLOR`. This console drops them
 * unless the stream is a terminal and `NO_COLOR` is unset (https://no-color.org).
 */
import type * as Console from "effect/Console"

/** Whether a stream may carry colour codes. */
export const colourAllowed = (isTTY: boolean | undefined, noColor: string | undefined): boolean =>
  isTTY === true && (noColor === undefined || noColor === "")

// CSI sequences (colours, cursor moves such as the wizard's) and two-byte escapes
const ESCAPE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])/g

/** `text` without its escape sequences. */
export const strip = (text: string): string => (text.includes("\u001b") ? text.replace(ESCAPE, "") : text)

const plain = (args: ReadonlyArray<unknown>): Array<unknown> => args.map((a) => (typeof a === "string" ? strip(a) : a))

/** `base` minus escape codes on stdout (`log`, `info`, …) or stderr (`error`, `warn`) where not allowed. */
export const make = (
  base: Console.Console,
  colour: { readonly stdout: boolean; readonly stderr: boolean }
): Console.Console => {
  const out = (f: (...args: ReadonlyArray<any>) => ReturnType<typeof base.log>) =>
    colour.stdout ? f : (...args: ReadonlyArray<any>) => f(...plain(args))
  const err = (f: (...args: ReadonlyArray<any>) => ReturnType<typeof base.log>) =>
    colour.stderr ? f : (...args: ReadonlyArray<any>) => f(...plain(args))
  return {
    ...base,
    log: out(base.log),
    info: out(base.info),
    debug: out(base.debug),
    error: err(base.error),
    warn: err(base.warn)
  }
}
