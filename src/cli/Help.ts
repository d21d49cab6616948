/**
 * `backhaul --help` and `backhaul COMMAND --help`, written from the table in `Usage.ts`: plain text (no
 * colour codes, so it reads the same in a pipe, a pager or a log) with a sentence for every option.
 */
import * as Usage from "./Usage.ts"

const width = 100

/** `text` wrapped to `width` columns, continuation lines indented by `indent`. */
const wrap = (text: string, indent: number, first: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  let room = width - first
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > room) {
      lines.push(line)
      line = word
      room = width - indent
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  lines.push(line)
  return lines.map((l, i) => (i === 0 ? l : `${" ".repeat(indent)}${l}`))
}

/** Rows of `label  description`, the descriptions in one column. */
const table = (rows: ReadonlyArray<readonly [string, string]>): Array<string> => {
  const column = Math.max(...rows.map(([label]) => label.length)) + 4
  return rows.map(([label, text]) => `  ${label.padEnd(column - 2)}${wrap(text, column, column).join("\n")}`)
}

const optionRows = (keys: ReadonlyArray<Usage.OptionKey>) =>
  table(keys.map((k) => {
    const spec: Usage.OptionSpec = Usage.options[k]
    return [Usage.optionLabel(spec), spec.description] as const
  }))

const builtInUsage = "backhaul --help | --version | --completions SHELL | --wizard"

/** The whole CLI: every command, every option. */
export const root = (version: string): string =>
  [
    `backhaul ${version}: reverse tunnel through NAT and firewalls`,
    "",
    "USAGE",
    `  backhaul ${Usage.root.usage}`,
    ...Usage.commands.map((c) => `  backhaul ${c.name} ${c.usage}`),
    `  ${builtInUsage}`,
    "",
    "COMMANDS",
    ...table([["(no command)", Usage.root.summary], ...Usage.commands.map((c) => [c.name, c.summary] as const)]),
    "",
    "OPTIONS",
    ...optionRows([
      ...new Set<Usage.OptionKey>([...Usage.root.options, ...Usage.commands.flatMap((c) => c.options), ...Usage.builtInOptions])
    ]),
    ""
  ].join("\n")

/** One command: its usage and its options. */
export const command = (name: Usage.CommandName): string => {
  const spec = Usage.command(name)!
  return [
    `backhaul ${spec.name}: ${spec.summary}`,
    "",
    "USAGE",
    `  backhaul ${spec.name} ${spec.usage}`,
    "",
    "OPTIONS",
    ...optionRows([...spec.options, "help"]),
    ""
  ].join("\n")
}
