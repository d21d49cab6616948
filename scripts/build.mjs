#!/usr/bin/env node
// Compiles the CLI into one self-contained executable, dist/backhaul, with Bun (from the `bun` dev
// dependency), and writes its checksum beside it (dist/backhaul.sha256, as `sha256sum` prints it, so
// `sha256sum -c backhaul.sha256` checks a downloaded copy). Type-checking is `npm run typecheck`: Bun does
// not type-check. The library that `npm pack` ships is another build: scripts/build-lib.mjs.
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { bunExecutable } from "./bun.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const bun = bunExecutable()
if (bun === undefined) {
  console.error("build: cannot find the bun executable; run `npm ci` first")
  process.exit(1)
}

mkdirSync(join(root, "dist"), { recursive: true })
// A service binary must not change behaviour with whatever .env or bunfig.toml sits in its working folder.
const args = [
  "build",
  "--compile",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--minify-syntax",
  "--sourcemap=none",
  "src/cli/main.ts",
  "--outfile",
  "dist/backhaul"
]
const r = spawnSync(bun, args, { cwd: root, stdio: "inherit" })
if (r.error) console.error(`build: cannot run ${bun}: ${r.error.message}`)
if (r.status !== 0) process.exit(r.status ?? 1)

const hash = createHash("sha256").update(readFileSync(join(root, "dist", "backhaul"))).digest("hex")
writeFileSync(join(root, "dist", "backhaul.sha256"), `${hash}  backhaul\n`)
console.log(`build: dist/backhaul sha256 ${hash}`)
