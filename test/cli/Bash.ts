/**
 * Runs a bash completion script the way bash does on Tab, for tests: the words of a command line in
 * COMP_WORDS, the completion function `complete -p backhaul` names, and COMPREPLY read back.
 */
import { assert } from "@effect/vitest"
import { spawnSync } from "node:child_process"

/** What bash completes for `words` (the last one being completed) with `script` loaded, sorted. */
export const complete = (script: string, words: ReadonlyArray<string>): Array<string> => {
  const quote = (w: string) => `'${w.replace(/'/g, "'\\''")}'`
  const program = [
    script,
    `fn=$(complete -p backhaul | sed -E 's/.*-F ([^ ]+).*/\\1/')`,
    `COMP_WORDS=(${words.map(quote).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    `"$fn" backhaul ${quote(words[words.length - 1]!)} ${quote(words[words.length - 2] ?? "")}`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`
  ].join("\n")
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", program], { encoding: "utf8", timeout: 10_000 })
  assert.strictEqual(r.status, 0, r.stderr)
  return r.stdout.split("\n").filter((w) => w !== "").sort()
}
