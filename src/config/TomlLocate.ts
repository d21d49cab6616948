/**
 * Finds the line of a key path (`["server", "ports", 2]`) in TOML source text, so decode errors can point at
 * the line to fix. Best-effort: standard `[table]` headers, `key = value` lines and array elements spanning
 * lines; anything it cannot place (inline tables, dotted keys) gives `undefined`.
 */

const HEADER = /^\s*\[(?!\[)\s*([^\]]*?)\s*\]/
const ARRAY_HEADER = /^\s*\[\[\s*([^\]]*?)\s*\]\]/

const unquote = (name: string): string => name.replace(/^(["'])(.*)\1$/, "$2")

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** A line matching `key =` (bare or quoted key); the match ends just after the `=`. */
const keyLine = (key: string): RegExp => new RegExp(`^\\s*(?:${escapeRegExp(key)}|"${escapeRegExp(key)}"|'${escapeRegExp(key)}')\\s*=`)

/** Offsets where each line starts. */
const lineStarts = (text: string): Array<number> => {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1)
  return starts
}

/** 1-based line of a character offset. */
const lineAt = (starts: ReadonlyArray<number>, offset: number): number => {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return lo + 1
}

/** Skips a string starting at `i` (on its opening quote); returns the offset after it. */
const skipString = (text: string, i: number): number => {
  const q = text[i]!
  const triple = text.startsWith(q.repeat(3), i)
  const close = triple ? q.repeat(3) : q
  let j = i + close.length
  while (j < text.length) {
    if (q === '"' && text[j] === "\\") {
      j += 2
      continue
    }
    if (!triple && text[j] === "\n") return j
    if (text.startsWith(close, j)) {
      j += close.length
      // a triple-quoted string may end with up to two extra quotes ("""a"""" is `a"`)
      while (triple && text[j] === q) j++
      return j
    }
    j++
  }
  return j
}

/** Offset where element `index` of the array value starting at or after `from` begins. */
const elementOffset = (text: string, from: number, index: number): number | undefined => {
  let i = from
  let depth = 0
  let expecting = false
  let count = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++
      continue
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++
      continue
    }
    if (depth === 0) {
      if (c !== "[") return undefined
      depth = 1
      expecting = true
      i++
      continue
    }
    if (depth === 1 && c === ",") {
      expecting = true
      i++
      continue
    }
    if (depth === 1 && c === "]") return undefined
    if (depth === 1 && expecting) {
      if (count === index) return i
      count++
      expecting = false
    }
    if (c === '"' || c === "'") {
      i = skipString(text, i)
      continue
    }
    if (c === "[" || c === "{") depth++
    else if (c === "]" || c === "}") depth--
    i++
  }
  return undefined
}

/** The 1-based line where `path` is written in `text`, or `undefined` when it cannot be found. */
export const findLine = (text: string, path: ReadonlyArray<PropertyKey>): number | undefined => {
  if (path.length === 0) return undefined
  const lines = text.split("\n")
  const starts = lineStarts(text)
  const [table, key, ...rest] = path
  const tableName = String(table)

  // Top-level: a `[table]` / `[table.sub]` / `[[table]]` header or a bare `table = …` before any header.
  let sectionStart: number | undefined
  let inRoot = true
  let rootKeyLine: number | undefined
  for (let n = 0; n < lines.length; n++) {
    const header = ARRAY_HEADER.exec(lines[n]!) ?? HEADER.exec(lines[n]!)
    if (header !== null) {
      inRoot = false
      const name = unquote(header[1]!)
      if (name === tableName || name.startsWith(`${tableName}.`)) {
        if (name === tableName) {
          sectionStart = n
          break
        }
        if (sectionStart === undefined && key === undefined) return n + 1
      }
      continue
    }
    if (inRoot && rootKeyLine === undefined && keyLine(tableName).test(lines[n]!)) rootKeyLine = n
  }
  if (key === undefined) return sectionStart !== undefined ? sectionStart + 1 : rootKeyLine !== undefined ? rootKeyLine + 1 : undefined
  if (sectionStart === undefined) return undefined

  const re = keyLine(String(key))
  for (let n = sectionStart + 1; n < lines.length; n++) {
    const line = lines[n]!
    if (HEADER.test(line) || ARRAY_HEADER.test(line)) return undefined
    const m = re.exec(line)
    if (m === null) continue
    const element = rest[0]
    if (typeof element !== "number") return n + 1
    const at = elementOffset(text, starts[n]! + m[0].length, element)
    return at === undefined ? n + 1 : lineAt(starts, at)
  }
  return undefined
}
