#!/usr/bin/env node
// Compiles the CLI into one self-contained executable, dist/backhaul, with Bun (from the `bun` dev
// dependency). Type-checking is `npm run typecheck`: Bun does not type-check.
import { spawnSync } from "node:child_process"
import { mkdirSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const require = createRequire(import.meta.url)
const bunPackage = dirname(require.resolve("bun/package.json"))
// the npm package ships its native executable as bin/bun.exe on every platform
const bun = join(bunPackage, "bin", "bun.exe")
const candidates = [bun, join(root, "node_modules", ".bin", "bun")]

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
for (const exe of candidates) {
  const r = spawnSync(exe, args, { cwd: root, stdio: "inherit" })
  if (r.error?.code === "ENOENT") continue
  process.exit(r.status ?? 1)
}
console.error("build: cannot find the bun executable; run `npm ci` first")
process.exit(1)
