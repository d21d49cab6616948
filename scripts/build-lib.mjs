#!/usr/bin/env node
// Builds the library that `npm pack` ships: src/ → dist/lib/ as ESM JavaScript, .d.ts, declaration maps
// and source maps (tsconfig.build.json). tsc rather than Bun's bundler: it keeps one JS file per module,
// so the subpath exports ("." and "./unstable") and the source maps map 1:1 onto src/, and consumers'
// bundlers tree-shake what they do not import. The compiled binary is a separate build (scripts/build.mjs).
//
// Fixes after tsc:
// - tsc rewrites "./x.ts" to "./x.js" in the JavaScript but not in the .d.ts (microsoft/TypeScript#61037):
//   tsc itself resolves either, other tools and editors need ".js"; same length, so declaration maps hold;
// - dist/lib sits one folder deeper than src/: relative imports of files outside src/ (the CLI reads
//   ../../package.json) are re-pointed at the same file from the emitted module;
// - the CLI entry (dist/lib/cli/main.js, the package's `bin`) gets a `#!/usr/bin/env node` line when its
//   source has none, with its source map shifted one line, and is made executable.
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const src = join(root, "src")
const out = join(root, "dist", "lib")
const cliEntry = "cli/main"

const fail = (message) => {
  console.error(`build-lib: ${message}`)
  process.exit(1)
}

rmSync(out, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
if (r.status !== 0) fail(r.error ? `cannot run tsc: ${r.error.message}` : "tsc failed")

const emitted = (dir, suffix = ".js") =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? emitted(join(dir, e.name), suffix) : e.name.endsWith(suffix) ? [join(dir, e.name)] : []
  )

// `from "./x.ts"`, `import("./x.ts")` in declarations (a "./x.d.ts" specifier is left alone)
const tsSpecifier = /((?:from|import\()\s*)(["'])(\.{1,2}\/[^"']+?)\.(m?)ts\2/g
let declarations = 0
for (const file of emitted(out, ".d.ts")) {
  const text = readFileSync(file, "utf8")
  const fixed = text.replace(tsSpecifier, (whole, head, quote, path, m) =>
    path.endsWith(".d") ? whole : `${head}${quote}${path}.${m}js${quote}`
  )
  if (fixed !== text) {
    writeFileSync(file, fixed)
    declarations++
  }
}

// `from "../../x.json"` and `import("../../x.json")`: only JSON can sit outside src/ (code there would fail tsc's rootDir)
const jsonImport = /((?:from|import\()\s*)(["'])(\.{1,2}\/[^"']+\.json)\2/g
let repointed = 0
for (const file of emitted(out)) {
  const text = readFileSync(file, "utf8")
  const sourceDir = dirname(join(src, relative(out, file)))
  const fixed = text.replace(jsonImport, (whole, head, quote, specifier) => {
    const target = resolve(sourceDir, specifier)
    if (!relative(src, target).startsWith("..")) return whole
    if (!existsSync(target)) fail(`${relative(root, file)} imports ${specifier}, which does not exist`)
    repointed++
    const from = relative(dirname(file), target).replaceAll("\\", "/")
    return `${head}${quote}${from.startsWith(".") ? from : `./${from}`}${quote}`
  })
  if (fixed !== text) writeFileSync(file, fixed)
}

const entry = join(out, `${cliEntry}.js`)
if (!existsSync(entry)) fail(`tsc did not emit ${relative(root, entry)}`)
const js = readFileSync(entry, "utf8")
if (!js.startsWith("#!")) {
  writeFileSync(entry, `#!/usr/bin/env node\n${js}`)
  // every ";" in `mappings` starts the next generated line: one more in front moves them all down a line
  const mapFile = `${entry}.map`
  const map = JSON.parse(readFileSync(mapFile, "utf8"))
  map.mappings = `;${map.mappings}`
  writeFileSync(mapFile, JSON.stringify(map))
}
chmodSync(entry, 0o755)

console.log(
  `build-lib: ${emitted(out).length} modules in ${relative(root, out)} ` +
    `(.ts specifiers made .js in ${declarations} declaration files, ${repointed} import(s) of package files re-pointed)`
)
