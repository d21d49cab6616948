/**
 * The packed package as a user installs it, so `npm test` covers what `npm pack` ships: runs
 * scripts/package-check.mjs (file list, size, the consumer's tsc check and its run under Node, Bun and
 * Deno) and requires it to pass with a result line from each runtime.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")

const runCheck = () =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    // killed before the test's own timeout, so a stuck step cannot outlive the run
    const child = spawn(process.execPath, [join(root, "scripts", "package-check.mjs")], { cwd: root, timeout: 230_000 })
    let output = ""
    child.stdout.on("data", (c: Buffer) => (output += c))
    child.stderr.on("data", (c: Buffer) => (output += c))
    child.on("close", (code) => resolve({ code, output }))
  })

it("the packed tarball installs and carries hashed bytes over tcp and memory under Node, Bun and Deno", async () => {
  const { code, output } = await runCheck()
  console.log(output)
  expect(code, output).toBe(0)
  expect(output).toMatch(/file list ok/)
  expect(output).toMatch(/tsc --noEmit: consumer type-checks/)
  expect(output).toMatch(/README's \d+ library example\(s\) type-check/)
  for (const runtime of ["node", "bun", "deno"]) {
    for (const network of ["tcp", "memory", "tcp node:net"]) {
      expect(output).toMatch(new RegExp(`^package: ${runtime} \\S+ ${network}: ok, `, "m"))
    }
  }
}, 240_000)
