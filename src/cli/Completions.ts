/**
 * `backhaul --completions SHELL`: completion scripts written from the table in `Usage.ts`, each choice its
 * own word (@effect/cli's bash script offered `logfmt,json` as one). zsh runs the bash script through
 * `bashcompinit`, so the two complete alike and the tested bash logic is the only logic.
 */
import * as Usage from "./Usage.ts"

const spellings = (key: Usage.OptionKey): Array<string> => {
  const spec: Usage.OptionSpec = Usage.options[key]
  return spec.short === undefined ? [spec.long] : [spec.short, spec.long]
}

const valueOptions = (Object.keys(Usage.options) as Array<Usage.OptionKey>).filter((k) =>
  (Usage.options[k] as Usage.OptionSpec).value !== undefined
)

const words = (keys: ReadonlyArray<Usage.OptionKey>) => keys.flatMap(spellings).join(" ")

const rootWords = [
  ...Usage.commands.map((c) => c.name),
  ...Usage.root.options.flatMap(spellings),
  ...Usage.builtInOptions.flatMap(spellings)
].join(" ")

/** The bash script: complete values after an option, else the options of the command named so far. */
const bash = (): string => {
  const values = valueOptions.map((k) => {
    const spec: Usage.OptionSpec = Usage.options[k]
    const reply = spec.file === true
      ? `compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -f -- "$cur") )`
      : `COMPREPLY=( $(compgen -W "${(spec.choices ?? []).join(" ")}" -- "$cur") )`
    return `    ${spellings(k).join("|")}) ${reply}; return 0 ;;`
  })
  const perCommand = Usage.commands.map((c) =>
    `    ${c.name}) COMPREPLY=( $(compgen -W "${words([...c.options, "help"])}" -- "$cur") ) ;;`
  )
  return [
    "# bash completion for backhaul; load with: eval \"$(backhaul --completions bash)\"",
    "_backhaul() {",
    "  local cur prev cmd i",
    "  COMPREPLY=()",
    "  cur=\"${COMP_WORDS[COMP_CWORD]}\"",
    "  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"",
    "  case \"$prev\" in",
    ...values,
    "  esac",
    "  cmd=\"\"",
    "  for (( i = 1; i < COMP_CWORD; i++ )); do",
    "    case \"${COMP_WORDS[i]}\" in",
    // an option's value is not a command (`-c server`)
    `      ${valueOptions.flatMap(spellings).join("|")}) (( i++ )) ;;`,
    `      ${Usage.commands.map((c) => c.name).join("|")}) cmd=\"\${COMP_WORDS[i]}\"; break ;;`,
    "    esac",
    "  done",
    "  case \"$cmd\" in",
    ...perCommand,
    `    *) COMPREPLY=( $(compgen -W "${rootWords}" -- "$cur") ) ;;`,
    "  esac",
    "  return 0",
    "}",
    "complete -F _backhaul backhaul",
    ""
  ].join("\n")
}

const fishQuote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

/** The fish script: one `complete` line per command and per option, choices as separate words. */
const fish = (): string => {
  const option = (key: Usage.OptionKey, condition: string) => {
    const spec: Usage.OptionSpec = Usage.options[key]
    const names = `${spec.short === undefined ? "" : ` -s ${spec.short.slice(1)}`} -l ${spec.long.slice(2)}`
    const value = spec.value === undefined ? "" : spec.file === true ? " -r -F" : ` -x -a ${fishQuote((spec.choices ?? []).join(" "))}`
    return `complete -c backhaul -n ${fishQuote(condition)}${names}${value} -d ${fishQuote(spec.description)}`
  }
  const top = "__fish_use_subcommand"
  return [
    "# fish completion for backhaul; load with: backhaul --completions fish | source",
    "complete -c backhaul -f",
    ...Usage.commands.map((c) => `complete -c backhaul -n ${top} -a ${c.name} -d ${fishQuote(c.summary)}`),
    ...[...Usage.root.options, ...Usage.builtInOptions].map((k) => option(k, top)),
    ...Usage.commands.flatMap((c) => [...c.options, "help" as const].map((k) => option(k, `__fish_seen_subcommand_from ${c.name}`))),
    ""
  ].join("\n")
}

/** The completion script for `shell`. */
export const script = (shell: Usage.Shell): string => {
  switch (shell) {
    case "bash":
    case "sh":
      return bash()
    case "zsh":
      return [
        "# zsh completion for backhaul (the bash script through bashcompinit); load with:",
        "#   eval \"$(backhaul --completions zsh)\"",
        "autoload -U +X bashcompinit && bashcompinit",
        bash()
      ].join("\n")
    case "fish":
      return fish()
  }
}
