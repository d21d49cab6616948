// Where Bun's executable is: the `bun` dev dependency ships it as bin/bun.exe on every platform; the
// `.bin` link is the fallback. Used by the build and by the benchmark's Bun-run references.
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** The path of Bun's executable, or undefined when the `bun` dev dependency is not installed. */
export function bunExecutable() {
  const candidates = [join(root, "node_modules", ".bin", "bun")]
  try {
    candidates.unshift(join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin", "bun.exe"))
  } catch { /* not installed: only the link is left to try */ }
  return candidates.find((exe) => existsSync(exe))
}
