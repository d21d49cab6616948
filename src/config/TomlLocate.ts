/**
 * Finds the line of a key path (`["server", "ports", 2]`) in TOML source text, so decode errors can point at
 * the line to fix. Best-effort: standard `[table]` headers, `key = value` lines and array elements spanning
 * lines; anything it cannot place (inline tables, dotted keys) gives `undefined`.
 */

const HEADER = /^\s*(\[\[?)\s*([^\]]*?)\s*\]/
const BARE_OR_QUOTED = `(?:[A-Za-z0-9_-]+|"(?:[^"\\\\]|\\\\.)*"|'[^']*')`
const KEY = new RegExp(`^\\s*(${BARE_OR_QUOTED}(?:\\s*\\.\\s*${BARE_OR_QUOTED})*)\\s*=`)

const unquote = (name: string): string => name.replace(/^(["'])(.*)\1$/, "$2")

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

/** Offset just after a value starting at or after `from` (arrays and tables may span lines). */
const skipValue = (text: string, from: number): number => {
  let i = from
  let depth = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === "\n" && depth === 0) return i
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++
      continue
    }
    if (c === '"' || c === "'") {
      i = skipString(text, i)
      continue
    }
    if (c === "[" || c === "{") depth++
    else if ((c === "]" || c === "}") && depth > 0) depth--
    i++
  }
  return i
}

type Statement =
  | { readonly kind: "header"; readonly name: string; readonly line: number }
  | { readonly kind: "key"; readonly table: string | undefined; readonly key: string; readonly line: number; readonly value: number }

/** The headers and `key = value` statements of a document, skipping over multi-line values. */
const statements = (text: string, starts: ReadonlyArray<number>): Array<Statement> => {
  const out: Array<Statement> = []
  let table: string | undefined
  let n = 0
  while (n < starts.length) {
    const start = starts[n]!
    const end = n + 1 < starts.length ? starts[n + 1]! - 1 : text.length
    const line = text.slice(start, end)
    const header = HEADER.exec(line)
    if (header !== null) {
      table = header[2]!.split(".").map((part) => unquote(part.trim())).join(".")
      out.push({ kind: "header", name: table, line: n + 1 })
      n++
      continue
    }
    const key = KEY.exec(line)
    if (key === null) {
      n++
      continue
    }
    const value = start + key[0].length
    out.push({ kind: "key", table, key: unquote(key[1]!.trim()), line: n + 1, value })
    const after = skipValue(text, value)
    n = Math.max(n + 1, lineAt(starts, after))
  }
  return out
}

/** The 1-based line where `path` is written in `text`, or `undefined` when it cannot be found. */
export const findLine = (text: string, path: ReadonlyArray<PropertyKey>): number | undefined => {
  if (path.length === 0) return undefined
  const starts = lineStarts(text)
  const all = statements(text, starts)
  const [table, key, element] = path
  const tableName = String(table)
  if (key === undefined) {
    const found = all.find((s) =>
      s.kind === "header"
        ? s.name === tableName || s.name.startsWith(`${tableName}.`)
        : s.table === undefined && s.key === tableName
    )
    return found?.line
  }
  const found = all.find((s) => s.kind === "key" && s.table === tableName && s.key === String(key))
  if (found === undefined || found.kind !== "key") return undefined
  if (typeof element !== "number") return found.line
  const at = elementOffset(text, found.value, element)
  return at === undefined ? found.line : lineAt(starts, at)
}
