/**
 * `allowed_targets`: which addresses the client dials when the server names the target in a Connect.
 * Without it a compromised or hostile server could make the client dial anything on its LAN.
 *
 * Patterns are `HOST:PORTS`. HOST is `*`, an IPv4 address or range (`10.0.0.0/8`), a bracketed IPv6
 * address or range (`[::1]`, `[fd00::/8]` or `[fd00::]/8`), or a host name; PORTS is `*`, a port, or a range
 * (`8000-8100`). Patterns are compiled once (addresses as 32-bit words), so a check is a few integer
 * comparisons per pattern, with no allocation besides parsing the target's address.
 *
 * A host name pattern matches the name as the server sent it (case-insensitive, a trailing dot ignored),
 * never what it resolves to, and an address pattern matches only a target given as an address: the check
 * happens before any DNS lookup, so the address checked is the one dialed (resolving first and dialing
 * the name would let a rebinding DNS answer differently the second time), and the per-connection path
 * gains no resolver round trip. It fails closed: a name the server sends never matches an address range.
 * An IPv4-mapped IPv6 target (`::ffff:10.0.0.5`) is matched as the IPv4 address it dials.
 */
import * as Either from "effect/Either"
import { isIPv4, isIPv6 } from "node:net"

/** A compiled list: `allows` is the per-connection check. */
export interface AllowedTargets {
  /** the patterns as written (trimmed) */
  readonly patterns: ReadonlyArray<string>
  /** whether the client may dial `host` (no IPv6 brackets) on `port` */
  readonly allows: (host: string, port: number) => boolean
}

/** One compiled pattern. */
type Rule =
  | { readonly kind: "any"; readonly from: number; readonly to: number }
  | { readonly kind: "name"; readonly name: string; readonly from: number; readonly to: number }
  | { readonly kind: "v4"; readonly base: number; readonly mask: number; readonly from: number; readonly to: number }
  | { readonly kind: "v6"; readonly words: Uint32Array; readonly bits: number; readonly from: number; readonly to: number }

const quote = (s: string) => JSON.stringify(s)

const HOSTNAME_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/** A name as compared: lower case, without the trailing dot of a fully qualified name. */
const canonicalName = (name: string): string => {
  const lower = name.toLowerCase()
  return lower.endsWith(".") ? lower.slice(0, -1) : lower
}

/*
 * Address parsers by hand, over character codes: the per-connection check allocates nothing for an
 * address target (`node:net`'s isIP and a split-based parser cost 2.5-5.5 µs per IPv6 check, see
 * docs/reliability.md). Both are strict (no leading zeros, at most four hex digits a group) and
 * anything they reject is refused by every pattern but `*`: a parser's doubt never widens what is dialed.
 */

/** The dotted quad in `s[start, end)` as an unsigned 32-bit number, or -1 when it is not one. */
const parseV4 = (s: string, start: number, end: number): number => {
  let n = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1
      n = n * 256 + octet
      octet = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1 // a leading zero: some resolvers read it as octal
      octet = octet * 10 + c - 48
      if (++digits > 3 || octet > 255) return -1
    } else {
      return -1
    }
  }
  return dots === 3 && digits > 0 ? n * 256 + octet : -1
}

const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1

/** Scratch groups for parseV6 (JavaScript runs on one thread and parseV6 finishes before returning). */
const groups = new Uint16Array(8)

/** Parses an IPv6 address (a zone `%eth0` dropped) into four 32-bit words in `out`; false when it is not one. */
const parseV6 = (s: string, out: Uint32Array): boolean => {
  let end = s.indexOf("%")
  if (end < 0) end = s.length
  let n = 0
  let gap = -1
  let i = 0
  if (end >= 2 && s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false
    gap = 0
    i = 2
  }
  while (i < end) {
    if (n === 8) return false
    const start = i
    let value = 0
    let digits = 0
    for (; i < end; i++) {
      const h = hexValue(s.charCodeAt(i))
      if (h < 0) break
      value = value * 16 + h
      digits++
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // an IPv4 tail, the last 32 bits
      if (n > 6) return false
      const v4 = parseV4(s, start, end)
      if (v4 < 0) return false
      groups[n++] = Math.floor(v4 / 65536)
      groups[n++] = v4 % 65536
      i = end
      break
    }
    if (digits === 0 || digits > 4) return false
    groups[n++] = value
    if (i === end) break
    if (s.charCodeAt(i) !== 58) return false
    i++
    if (i === end) return false // one trailing ":"
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false
      gap = n
      i++
    }
  }
  if (gap < 0) {
    if (n !== 8) return false
  } else {
    // "::" stands for at least one zero group
    if (n > 7) return false
    const moved = n - gap
    for (let k = 0; k < moved; k++) groups[7 - k] = groups[n - 1 - k]!
    for (let k = gap; k < 8 - moved; k++) groups[k] = 0
  }
  for (let k = 0; k < 4; k++) out[k] = groups[2 * k]! * 65536 + groups[2 * k + 1]!
  return true
}

/** An IPv6 address's words, for compiling a pattern; undefined when it is not one. */
const v6Words = (text: string): Uint32Array | undefined => {
  const words = new Uint32Array(4)
  return isIPv6(text) && parseV6(text, words) ? words : undefined
}

/** `::ffff:a.b.c.d`: an IPv6 address that dials an IPv4 one. */
const isMappedV4 = (w: Uint32Array): boolean => w[0] === 0 && w[1] === 0 && w[2] === 0xffff

/** The mask of a `bits`-long prefix of one 32-bit word (0 to 32 bits). */
const wordMask = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0)

const v4Rule = (address: number, bits: number, from: number, to: number): Rule => {
  const mask = wordMask(bits)
  return { kind: "v4", base: (address & mask) >>> 0, mask, from, to }
}

/** `*`, `443` or `8000-8100` → an inclusive range. */
const parsePorts = (text: string, entry: string): Either.Either<readonly [number, number], string> => {
  if (text === "*") return Either.right([1, 65535])
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text)
  if (m === null) {
    return Either.left(`${quote(entry)}: the port ${quote(text)} is not a port, a range like "8000-8100" or "*"`)
  }
  const from = Number(m[1])
  const to = m[2] === undefined ? from : Number(m[2])
  if (from < 1 || to > 65535 || from > 65535) return Either.left(`${quote(entry)}: ports are 1 to 65535`)
  if (from > to) return Either.left(`${quote(entry)}: the range ${from}-${to} is backwards; write ${to}-${from}`)
  return Either.right([from, to])
}

/** A CIDR prefix length of at most `max` bits. */
const parseBits = (text: string, max: number, entry: string): Either.Either<number, string> =>
  /^\d{1,3}$/.test(text) && Number(text) <= max
    ? Either.right(Number(text))
    : Either.left(`${quote(entry)}: the prefix length ${quote(text)} must be 0 to ${max}`)

/** The host part of a pattern, with its port range, as a rule. */
const parseHost = (host: string, bracketed: boolean, from: number, to: number, entry: string): Either.Either<Rule, string> => {
  const [address, bits, ...extra] = host.split("/")
  if (extra.length > 0) return Either.left(`${quote(entry)}: more than one "/"`)
  if (bracketed) {
    const words = isIPv6(address!) ? v6Words(address!) : undefined
    if (words === undefined) return Either.left(`${quote(entry)}: ${quote(address!)} in brackets is not an IPv6 address`)
    return Either.map(bits === undefined ? Either.right(128) : parseBits(bits, 128, entry), (n): Rule =>
      // a range inside ::ffff:0:0/96 is written for IPv4 targets, which are matched as IPv4
      isMappedV4(words) && n >= 96
        ? v4Rule(words[3]!, n - 96, from, to)
        : { kind: "v6", words, bits: n, from, to })
  }
  if (host === "*") return Either.right({ kind: "any", from, to })
  if (isIPv6(address!)) return Either.left(`${quote(entry)}: IPv6 addresses need brackets, like "[${host}]:22"`)
  if (bits !== undefined || /^[\d.]+$/.test(address!)) {
    if (!isIPv4(address!)) return Either.left(`${quote(entry)}: ${quote(address!)} is not an IPv4 address`)
    const v4 = parseV4(address!, 0, address!.length)
    if (v4 < 0) return Either.left(`${quote(entry)}: ${quote(address!)} is not an IPv4 address (no leading zeros)`)
    return Either.map(bits === undefined ? Either.right(32) : parseBits(bits, 32, entry), (n) => v4Rule(v4, n, from, to))
  }
  if (host.includes("*")) {
    return Either.left(`${quote(entry)}: "*" stands for every host on its own; it cannot be part of a name`)
  }
  const name = canonicalName(host)
  if (name.length > 253 || !name.split(".").every((label) => HOSTNAME_LABEL.test(label))) {
    return Either.left(`${quote(entry)}: ${quote(host)} is not a host name, an IP address, a CIDR range or "*"`)
  }
  return Either.right({ kind: "name", name, from, to })
}

/** Parses one pattern; the message names the entry and what is wrong with it. */
export const parsePattern = (raw: string): Either.Either<Rule, string> => {
  const entry = raw.trim()
  if (entry === "") return Either.left(`an empty pattern; expected HOST:PORT like "127.0.0.1:8080", "10.0.0.0/8:*" or "*:443"`)
  let host: string
  let ports: string
  let bracketed = false
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]")
    if (close < 0) return Either.left(`${quote(entry)}: missing "]" after the IPv6 address`)
    // the prefix length inside the brackets or after them: `[fd00::/8]:*`, `[fd00::]/8:*`
    const after = /^(\/\d*)?:/.exec(entry.slice(close + 1))
    if (after === null) return Either.left(`${quote(entry)}: expected ":PORT" after "]" (":*" for every port)`)
    host = entry.slice(1, close) + (after[1] ?? "")
    ports = entry.slice(close + 1 + after[0].length)
    bracketed = true
  } else {
    const colon = entry.lastIndexOf(":")
    if (colon < 0) return Either.left(`${quote(entry)}: missing ":PORT"; write "${entry}:*" for every port`)
    host = entry.slice(0, colon)
    ports = entry.slice(colon + 1)
    if (host.includes(":")) {
      return isIPv6(host.split("/")[0]!) || isIPv6(entry.split("/")[0]!)
        ? Either.left(`${quote(entry)}: IPv6 addresses need brackets, like "[::1]:22" or "[fd00::/8]:*"`)
        : Either.left(`${quote(entry)}: too many ":"; expected HOST:PORT`)
    }
    if (host === "") return Either.left(`${quote(entry)}: missing the host; write "*:${ports}" for every host`)
  }
  return Either.flatMap(parsePorts(ports, entry), ([from, to]) => parseHost(host, bracketed, from, to, entry))
}

/** The problem with one `allowed_targets` entry, or undefined when it is a valid pattern. */
export const entryProblem = (entry: string): string | undefined => {
  const parsed = parsePattern(entry)
  return Either.isLeft(parsed) ? parsed.left : undefined
}

/** Compiles a list; fails with the first bad entry's problem (config loading reports every one). */
export const compile = (patterns: ReadonlyArray<string>): Either.Either<AllowedTargets, string> => {
  const rules: Array<Rule> = []
  for (let i = 0; i < patterns.length; i++) {
    const rule = parsePattern(patterns[i]!)
    if (Either.isLeft(rule)) return Either.left(`allowed_targets[${i}]: ${rule.left}`)
    rules.push(rule.right)
  }
  return Either.right({ patterns: patterns.map((p) => p.trim()), allows: matcher(rules) })
}

/** The target's IPv6 words, reused by every check (see `groups`). */
const targetWords = new Uint32Array(4)

/** The check over compiled rules: the target is classified once, then each rule is a few comparisons. */
const matcher = (rules: ReadonlyArray<Rule>) => (host: string, port: number): boolean => {
  let kind: "name" | "v4" | "v6"
  let v4 = -1
  let name = ""
  if (host.indexOf(":") >= 0) {
    if (!parseV6(host, targetWords)) return anyAllows(rules, port)
    if (isMappedV4(targetWords)) {
      kind = "v4"
      v4 = targetWords[3]!
    } else {
      kind = "v6"
    }
  } else {
    const c = host.charCodeAt(0)
    if (c >= 48 && c <= 57) v4 = parseV4(host, 0, host.length)
    if (v4 >= 0) {
      kind = "v4"
    } else if (/^[\d.]*$/.test(host)) {
      // digits and dots but not a dotted quad ("127.1", "2130706433"): resolvers may read it as an address
      return anyAllows(rules, port)
    } else {
      kind = "name"
      name = canonicalName(host)
    }
  }
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!
    if (port < r.from || port > r.to) continue
    switch (r.kind) {
      case "any":
        return true
      case "name":
        if (kind === "name" && r.name === name) return true
        break
      case "v4":
        if (kind === "v4" && ((v4 & r.mask) >>> 0) === r.base) return true
        break
      case "v6":
        if (kind === "v6" && v6Matches(targetWords, r.words, r.bits)) return true
        break
    }
  }
  return false
}

/** Only `*` may match a target that is neither a valid address nor a name. */
const anyAllows = (rules: ReadonlyArray<Rule>, port: number): boolean =>
  rules.some((r) => r.kind === "any" && port >= r.from && port <= r.to)

const v6Matches = (target: Uint32Array, base: Uint32Array, bits: number): boolean => {
  for (let i = 0; i < 4; i++) {
    const mask = wordMask(bits - 32 * i)
    if (mask === 0) return true
    if (((target[i]! & mask) >>> 0) !== ((base[i]! & mask) >>> 0)) return false
  }
  return true
}

/** What `allowed_targets` absent means: every target the server names (the Go tool's behaviour). */
export const any: AllowedTargets = { patterns: ["*:*"], allows: () => true }
