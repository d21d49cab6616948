#!/usr/bin/env node
// Compiles the CLI into one self-contained executable, dist/backhaul, with Bun (from the `bun` dev
// dependency). Type-checking is `npm run typecheck`: Bun does not type-check.
import { spawnSync } from "node:child_process"
import { mkdirSync } from "node:fs"
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
process.exit(r.status ?? 1)
