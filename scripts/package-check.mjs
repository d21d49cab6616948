#!/usr/bin/env node
// `npm run test:package`: the package as a user gets it. Packs the tarball (`npm pack`, whose prepack
// builds dist/lib), checks its file list (the library and its sources only: no binary, checksum, tests,
// scripts or CI) and prints its size, then installs it into a copy of test/consumer in a temp folder and
// there type-checks the consumer against the shipped .d.ts (`tsc --noEmit`) and runs the same program
// under Node, Bun and Deno. One line per step; exit 1 if any fails. `--keep` leaves the temp folder.
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { bunExecutable } from "./bun.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")
const RUN_TIMEOUT_MS = 60_000
const work = mkdtempSync(join(tmpdir(), "backhaul-package-"))
const failures = []

const run = (command, args, cwd, timeout = 180_000) => {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: "1" } })
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim()
  const why = r.error ? (r.error.code === "ETIMEDOUT" ? `killed after ${timeout / 1000} s` : r.error.message) : `exit ${r.status}`
  return { ok: r.status === 0 && !r.error, output, why, stdout: r.stdout ?? "" }
}
const fail = (what, detail) => {
  failures.push(what)
  console.log(`package: FAIL ${what}${detail ? `\n${detail.replace(/^/gm, "  | ")}` : ""}`)
}
const finish = () => {
  if (keep) console.log(`package: kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
  console.log(failures.length === 0 ? "package: all checks passed" : `package: ${failures.length} check(s) failed: ${failures.join("; ")}`)
  process.exit(failures.length === 0 ? 0 : 1)
}

// 1. pack. The prepack script's own output shares stdout with the JSON: the JSON is the array at the end.
const pack = run("npm", ["pack", "--json", "--pack-destination", work], root)
const start = pack.stdout.search(/^\[\s*\{/m)
if (!pack.ok || start < 0) {
  fail("npm pack", pack.output)
  finish()
}
const [info] = JSON.parse(pack.stdout.slice(start))
const tarball = join(work, info.filename)
const paths = info.files.map((f) => f.path)
const unwanted = paths.filter((p) =>
  /^(test|scripts|\.ci|node_modules)\//.test(p) || p === "dist/backhaul" || p.endsWith(".sha256") || /\.test\.ts$/.test(p)
)
if (unwanted.length > 0) fail("tarball contents", `should not ship:\n${unwanted.join("\n")}`)
// what package.json points at (every exports target, main, types, bin), and what every map names
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const targets = (value) => (typeof value === "string" ? [value] : Object.values(value ?? {}).flatMap(targets))
const pointedAt = [...targets(manifest.exports), manifest.main, manifest.types, ...targets(manifest.bin)]
const mapSources = paths.filter((p) => p.endsWith(".map")).flatMap((p) =>
  JSON.parse(readFileSync(join(root, p), "utf8")).sources.map((s) => join(dirname(p), s))
)
const required = ["package.json", "dist/lib/index.js", "dist/lib/index.d.ts", ...pointedAt, ...mapSources]
  .map((p) => p.replace(/^\.\//, ""))
const missing = [...new Set(required.filter((p) => !paths.includes(p)))]
if (missing.length > 0) fail("tarball contents", `missing:\n${missing.join("\n")}`)
// every relative import of a shipped module names a shipped file: "./x.js" (in a .d.ts: its ./x.d.ts)
const relativeImport = /(?:from|import\()\s*["'](\.{1,2}\/[^"']+)["']/g
const dangling = paths.filter((p) => /\.(js|d\.ts)$/.test(p)).flatMap((p) =>
  [...readFileSync(join(root, p), "utf8").matchAll(relativeImport)]
    .map(([, specifier]) => join(dirname(p), p.endsWith(".d.ts") ? specifier.replace(/\.js$/, ".d.ts") : specifier))
    .filter((target) => !paths.includes(target))
    .map((target) => `${p} → ${target}`)
)
if (dangling.length > 0) fail("relative imports", `not in the tarball:\n${dangling.join("\n")}`)
// stripInternal leaves out declarations marked @internal, but not parameters so marked: any left is a leak
const leaks = paths.filter((p) => p.endsWith(".d.ts") && readFileSync(join(root, p), "utf8").includes("@internal"))
if (leaks.length > 0) fail("declarations", `@internal left in (stripInternal drops declarations, not parameters):\n${leaks.join("\n")}`)
for (const bin of targets(manifest.bin)) {
  const entry = info.files.find((f) => f.path === bin.replace(/^\.\//, ""))
  if (entry !== undefined && (entry.mode & 0o111) === 0) fail("tarball contents", `${bin} is not executable`)
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
console.log(
  `package: ${info.filename}: ${kib(statSync(tarball).size)} packed, ${kib(info.unpackedSize)} unpacked, ${paths.length} files` +
    (unwanted.length + missing.length === 0 ? " (file list ok)" : "")
)

// 2. a fresh consumer project with the tarball installed (dependencies from the npm cache the root's install warmed)
const consumer = join(work, "consumer")
cpSync(join(root, "test", "consumer"), consumer, {
  recursive: true,
  filter: (p) => !/[\\/](node_modules|out)$/.test(p)
})
const install = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], consumer)
if (!install.ok) {
  fail("npm install of the tarball", `${install.why}\n${install.output}`)
  finish()
}

// the installed command: bin link, shebang, and the CLI finding its package.json from dist/lib
const cli = run(join(consumer, "node_modules", ".bin", "backhaul"), ["--version"], consumer)
if (cli.ok && cli.output === manifest.version) console.log(`package: node_modules/.bin/backhaul --version: ${cli.output}`)
else fail("the installed backhaul command", `${cli.why}\n${cli.output}`)

// every subpath export loads (the consumer program itself imports the root only)
for (const subpath of Object.keys(manifest.exports).filter((k) => !k.endsWith(".json"))) {
  const specifier = `backhaul${subpath.slice(1)}`
  const probe = `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).length)`
  const r = run(process.execPath, ["--input-type=module", "-e", probe], consumer)
  if (r.ok && Number(r.output) > 0) console.log(`package: import("${specifier}") under node: ${r.output} exports`)
  else fail(`import("${specifier}")`, `${r.why}\n${r.output}`)
}

// the README's library examples, as written there, are type-checked with the consumer (never run: they
// bind real ports); a README example that no longer compiles fails the check
const readme = readFileSync(join(root, "README.md"), "utf8")
const library = readme.slice(readme.indexOf("\n## Library\n"), readme.indexOf("\n## ", readme.indexOf("\n## Library\n") + 1))
const examples = [...library.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
if (examples.length === 0) fail("README examples", "no ```ts block in the README's Library section")
writeFileSync(join(consumer, "readme.ts"), `// the README's Library examples, extracted by scripts/package-check.mjs\n${examples.join("\n")}`)

// 3. types: the consumer against the shipped declarations; then the same program emitted for the runtimes
const tsc = join(consumer, "node_modules", "typescript", "bin", "tsc")
const check = run(process.execPath, [tsc, "--noEmit", "-p", "."], consumer)
if (check.ok) console.log("package: tsc --noEmit: consumer type-checks against the shipped .d.ts")
else fail("tsc --noEmit", check.output)
const examplesCheck = run(process.execPath, [tsc, "-p", "tsconfig.readme.json"], consumer)
if (examplesCheck.ok) console.log(`package: tsc: the README's ${examples.length} library example(s) type-check`)
else fail("tsc of the README's library examples", examplesCheck.output)
const emit = run(process.execPath, [tsc, "-p", ".", "--noCheck"], consumer)
if (!emit.ok || !existsSync(join(consumer, "out", "main.js"))) {
  fail("tsc emit of the consumer", emit.output)
  finish()
}

// 4. the program under each runtime
const deno = [join(root, "node_modules", ".bin", "deno"), join(root, "node_modules", "deno", "deno")].find(existsSync)
const runtimes = [
  ["node", process.execPath, ["out/main.js"]],
  ["bun", bunExecutable(), ["out/main.js"]],
  // a package.json beside the program: Deno resolves bare specifiers from its node_modules, as Node does
  ["deno", deno, ["run", "-A", "--quiet", "--no-lock", "--node-modules-dir=manual", "out/main.js"]]
]
for (const [name, exe, args] of runtimes) {
  if (exe === undefined) {
    fail(name, `no ${name} executable in node_modules: run npm ci`)
    continue
  }
  const r = run(exe, args, consumer, RUN_TIMEOUT_MS)
  const lines = r.output.split("\n").filter((l) => l.trim() !== "")
  // exit 0 is not enough: the program must have said which cases it carried
  if (r.ok && lines.some((l) => l.includes(": ok, "))) for (const line of lines) console.log(`package: ${line}`)
  else fail(`${name} run (${r.ok ? "no result line" : r.why})`, r.output)
}
finish()
