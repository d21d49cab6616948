/**
 * The port grammar, in one place: `host:port` addresses, the server's `ports` entries (single ports, ranges,
 * bind addresses, targets) and the client's `forwarder` entries. Pure functions returning `Either` so the
 * schema, the CLI and tests share one parser and one set of error messages.
 */
import * as Either from "effect/Either"
import { isIPv4, isIPv6 } from "node:net"
import { formatHostPort, type HostPort, type PortMapping } from "./Config.ts"

/** Where a mapping listens when the entry names no bind address. */
export const DEFAULT_BIND_HOST = "0.0.0.0"

/** What the client dials when the entry names no target host. */
export const DEFAULT_TARGET_HOST = "127.0.0.1"

/** Lowest valid TCP port. */
export const MIN_PORT = 1

/** Highest valid TCP port. */
export const MAX_PORT = 65535

const quote = (text: string): string => JSON.stringify(text)

/** Parses one port number (`"443"`), rejecting anything outside 1–65535. */
export const parsePort = (text: string, what = "port"): Either.Either<number, string> => {
  const t = text.trim()
  if (t === "") return Either.left(`missing ${what}`)
  if (!/^\d+$/.test(t)) return Either.left(`${what} ${quote(t)} is not a number`)
  const n = Number(t)
  if (n < MIN_PORT || n > MAX_PORT) {
    return Either.left(`port ${t.replace(/^0+(?=\d)/, "")} is outside ${MIN_PORT}-${MAX_PORT}`)
  }
  return Either.right(n)
}

const HOSTNAME_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

/** Checks a host (IPv4, bare IPv6 or hostname); returns the reason when it is not one. */
const checkHost = (host: string): string | undefined => {
  if (host.includes(":")) return isIPv6(host) ? undefined : `${quote(host)} is not a valid IPv6 address`
  if (/^[\d.]+$/.test(host)) return isIPv4(host) ? undefined : `${quote(host)} is not a valid IPv4 address`
  if (host.length > 253) return `host name ${quote(host.slice(0, 40) + "…")} is longer than 253 characters`
  const labels = host.endsWith(".") ? host.slice(0, -1).split(".") : host.split(".")
  return labels.every((l) => HOSTNAME_LABEL.test(l)) ? undefined : `${quote(host)} is not a valid host name or IP address`
}

/** Splits `host:rest` / `[v6]:rest`; `host` is undefined when there is no host part. */
const splitHost = (
  text: string
): Either.Either<{ readonly host: string | undefined; readonly rest: string }, string> => {
  if (text.startsWith("[")) {
    const close = text.indexOf("]")
    if (close < 0) return Either.left(`missing "]" after the IPv6 address in ${quote(text)}`)
    const host = text.slice(1, close)
    if (!isIPv6(host)) return Either.left(`${quote(host)} is not a valid IPv6 address`)
    const after = text.slice(close + 1)
    if (!after.startsWith(":")) return Either.left(`expected ":port" after "[${host}]" in ${quote(text)}`)
    return Either.right({ host, rest: after.slice(1) })
  }
  const colon = text.lastIndexOf(":")
  if (colon < 0) return Either.right({ host: undefined, rest: text })
  const host = text.slice(0, colon)
  if (host.includes(":")) {
    return isIPv6(host) || isIPv6(text)
      ? Either.left(`IPv6 addresses need brackets, like "[::1]:443" (got ${quote(text)})`)
      : Either.left(`${quote(text)} has too many ":"; expected host:port`)
  }
  if (/^\d+$/.test(host) && /^\d+$/.test(text.slice(colon + 1))) {
    return Either.left(`${quote(text)} looks like two ports; "host:port" names an address, "${host}=${text.slice(colon + 1)}" maps a port`)
  }
  if (host === "") return Either.right({ host: "", rest: text.slice(colon + 1) })
  const bad = checkHost(host)
  return bad === undefined ? Either.right({ host, rest: text.slice(colon + 1) }) : Either.left(bad)
}

/**
 * Parses `host:port`, `[v6]:port` or `hostname:port`. `what` names the value in messages; `defaultHost`, when
 * given, lets the host be omitted (`":3080"`, as Go's listeners allow).
 */
export const parseHostPort = (
  text: string,
  what = "address",
  defaultHost?: string
): Either.Either<HostPort, string> => {
  const t = text.trim()
  if (t === "") return Either.left(`${what} is empty; expected host:port`)
  return Either.flatMap(splitHost(t), ({ host, rest }) => {
    if (host === undefined) {
      return Either.left(`${what} ${quote(t)} has no port; expected host:port`)
    }
    if (host === "" && defaultHost === undefined) return Either.left(`${what} ${quote(t)} has no host; expected host:port`)
    return Either.map(parsePort(rest), (port) => ({ host: host === "" ? defaultHost! : host, port }))
  })
}

/** Parses `443` or `443-600` into an inclusive range. */
const parsePortRange = (text: string): Either.Either<readonly [number, number], string> => {
  const t = text.trim()
  if (t === "") return Either.left("missing port")
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(t)
  if (range !== null) {
    return Either.flatMap(Either.all([parsePort(range[1]!), parsePort(range[2]!)]), ([from, to]) =>
      from > to
        ? Either.left(`reversed range ${from}-${to}: the first port must not be greater than the last`)
        : Either.right([from, to] as const)
    )
  }
  if (/^\d+$/.test(t)) return Either.map(parsePort(t), (p) => [p, p] as const)
  return Either.left(`${quote(t)} is not a port or a port range`)
}

/** Parses the listen side: `4000`, `443-600`, `127.0.0.2:443`, `[::1]:443-600`. */
const parseListen = (
  text: string
): Either.Either<{ readonly bindHost: string; readonly from: number; readonly to: number }, string> =>
  Either.flatMap(splitHost(text.trim()), ({ host, rest }) =>
    Either.map(parsePortRange(rest), ([from, to]) => ({
      bindHost: host === undefined || host === "" ? DEFAULT_BIND_HOST : host,
      from,
      to
    }))
  )

/**
 * Parses the target side: `5201`, `10.0.0.5:5201`, `host.lan:5201`, `[::1]:5201`, or an IP literal alone
 * (`10.0.0.5`, `[::1]`: same port as the listener). A host name alone is refused: `4000=520l` is a typo far
 * more often than a machine called "520l".
 */
const parseTarget = (
  text: string
): Either.Either<{ readonly host: string; readonly port: number | undefined }, string> => {
  const t = text.trim()
  if (t === "") return Either.left(`missing target after "="`)
  if (/^\d+$/.test(t)) return Either.map(parsePort(t, "target port"), (port) => ({ host: DEFAULT_TARGET_HOST, port }))
  if (isIPv4(t)) return Either.right({ host: t, port: undefined })
  const bracketed = /^\[([^\]]*)\]$/.exec(t)
  if (bracketed !== null) {
    return isIPv6(bracketed[1]!)
      ? Either.right({ host: bracketed[1]!, port: undefined })
      : Either.left(`${quote(bracketed[1]!)} is not a valid IPv6 address`)
  }
  if (!t.includes(":")) return Either.left(`target ${quote(t)} is not a port, an IP address or host:port`)
  return parseHostPort(t, "target")
}

/** Parses one `ports` entry in any form of DESIGN.md §1 (surrounding whitespace is ignored). */
export const parsePortMapping = (text: string): Either.Either<PortMapping, string> => {
  const source = text.trim()
  if (source === "") return Either.left("empty port mapping")
  const parts = source.split("=")
  if (parts.length > 2) return Either.left(`more than one "=" in ${quote(source)}`)
  let listenText: string
  let targetText: string | undefined
  if (parts.length === 2) {
    listenText = parts[0]!
    targetText = parts[1]!
    if (listenText.trim() === "") return Either.left(`missing listen port before "=" in ${quote(source)}`)
  } else {
    // The Go tool's "443-600:5201": a range followed by ":" and the target (here also after a bind address).
    const colonForm = /^(.*?\d+\s*-\s*\d+):(.*)$/.exec(source)
    listenText = colonForm === null ? source : colonForm[1]!
    targetText = colonForm === null ? undefined : colonForm[2]!
  }
  return Either.flatMap(parseListen(listenText), ({ bindHost, from, to }) => {
    if (targetText === undefined) {
      return Either.right({ source, bindHost, from, to, targetHost: DEFAULT_TARGET_HOST, targetPort: undefined })
    }
    return Either.map(parseTarget(targetText), (target) => ({
      source,
      bindHost,
      from,
      to,
      targetHost: target.host,
      targetPort: target.port
    }))
  })
}

const bracket = (host: string): string => (host.includes(":") ? `[${host}]` : host)

/**
 * Formats a mapping in the canonical grammar; parsing the result gives the same mapping back (except a
 * host-name target without a port, which the grammar cannot express).
 */
export const formatPortMapping = (m: Omit<PortMapping, "source">): string => {
  const ports = m.from === m.to ? `${m.from}` : `${m.from}-${m.to}`
  const listen = m.bindHost === DEFAULT_BIND_HOST ? ports : `${bracket(m.bindHost)}:${ports}`
  if (m.targetPort !== undefined) return `${listen}=${formatHostPort({ host: m.targetHost, port: m.targetPort })}`
  return m.targetHost === DEFAULT_TARGET_HOST ? listen : `${listen}=${bracket(m.targetHost)}`
}

/** Listen side for messages: `0.0.0.0:443-600`, `[::1]:80`. */
export const formatListen = (m: Pick<PortMapping, "bindHost" | "from" | "to">): string =>
  `${bracket(m.bindHost)}:${m.from === m.to ? m.from : `${m.from}-${m.to}`}`

/** Target side for messages; a range without a target port keeps the same ports. */
export const formatTarget = (m: Pick<PortMapping, "targetHost" | "targetPort" | "from" | "to">): string =>
  m.targetPort === undefined
    ? formatListen({ bindHost: m.targetHost, from: m.from, to: m.to })
    : formatHostPort({ host: m.targetHost, port: m.targetPort })

const isWildcardV4 = (host: string) => host === "0.0.0.0"
const isWildcardV6 = (host: string) => host === "::" || host === "0:0:0:0:0:0:0:0"

/**
 * Whether two bind hosts can claim the same socket: equal hosts, `::` (dual-stack, overlaps everything), or
 * `0.0.0.0` against any host that is not an IPv6 literal (a host name may resolve to IPv4).
 */
const hostsOverlap = (a: string, b: string): boolean => {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  if (x === y || isWildcardV6(x) || isWildcardV6(y)) return true
  if (isWildcardV4(x)) return !y.includes(":")
  if (isWildcardV4(y)) return !x.includes(":")
  return false
}

/**
 * Finds entries whose listen addresses collide with an earlier entry, for a list with holes (entries that
 * failed to parse are left out but keep their positions); `index` is the later entry's position.
 */
export const validateIndexedMappings = (
  entries: ReadonlyArray<readonly [index: number, mapping: PortMapping]>
): Array<{ index: number; message: string }> => {
  const problems: Array<{ index: number; message: string }> = []
  for (let j = 1; j < entries.length; j++) {
    const [bIndex, b] = entries[j]!
    for (let i = 0; i < j; i++) {
      const [aIndex, a] = entries[i]!
      if (!hostsOverlap(a.bindHost, b.bindHost)) continue
      const from = Math.max(a.from, b.from)
      const to = Math.min(a.to, b.to)
      if (from > to) continue
      const where = formatListen({ bindHost: b.bindHost, from, to })
      problems.push({
        index: bIndex,
        message: `duplicate listen address: ${where} is already used by ports[${aIndex}] (${quote(a.source)})`
      })
      break
    }
  }
  return problems
}

/** Finds entries whose listen addresses collide with an earlier entry; `index` is the later entry. */
export const validateMappings = (list: ReadonlyArray<PortMapping>): Array<{ index: number; message: string }> =>
  validateIndexedMappings(list.map((m, i) => [i, m] as const))

/** One entry per listen port, with the target port resolved. */
export const expandMapping = (
  m: PortMapping
): Array<{ bindHost: string; port: number; targetHost: string; targetPort: number }> => {
  const out: Array<{ bindHost: string; port: number; targetHost: string; targetPort: number }> = []
  for (let port = m.from; port <= m.to; port++) {
    out.push({ bindHost: m.bindHost, port, targetHost: m.targetHost, targetPort: m.targetPort ?? port })
  }
  return out
}

/** Number of listen ports a mapping opens. */
export const portCount = (m: Pick<PortMapping, "from" | "to">): number => m.to - m.from + 1

/** Parses a client `forwarder` entry `4000=IP:PORT` (a bare target port means 127.0.0.1). */
export const parseForwarder = (text: string): Either.Either<[number, HostPort], string> => {
  const t = text.trim()
  if (t === "") return Either.left("empty forwarder entry; expected SERVER_PORT=HOST:PORT")
  const parts = t.split("=")
  if (parts.length === 1) return Either.left(`missing "=" in ${quote(t)}; expected SERVER_PORT=HOST:PORT`)
  if (parts.length > 2) return Either.left(`more than one "=" in ${quote(t)}`)
  const [left, right] = [parts[0]!.trim(), parts[1]!]
  if (/^\d+\s*-\s*\d+$/.test(left)) return Either.left(`forwarder takes one server port, not a range (${quote(left)})`)
  return Either.flatMap(parsePort(left, "server port"), (port) =>
    Either.map(parseTarget(right), (target): [number, HostPort] => [port, { host: target.host, port: target.port ?? port }])
  )
}
