/**
 * The TOML shape of `[server]` and `[client]`: every key, its type, its range and its default (DESIGN.md §1),
 * plus the keys of the newer Go tool that are accepted for compatibility. Address and port strings decode
 * through `PortMapping.ts`, so a bad entry fails with its exact path (`ports[2]`).
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  formatHostPort,
  logLevels,
  transportNames,
  type HostPort,
  type LogLevelName,
  type PortMapping as PortMappingType,
  type TransportName
} from "./Config.ts"
import * as DidYouMean from "./DidYouMean.ts"
import * as PortMapping from "./PortMapping.ts"
import * as AllowedTargets from "../client/AllowedTargets.ts"
import * as TrustedProxies from "../transport/ws/TrustedProxies.ts"

/** Default value of every optional key (durations in seconds), shared with `Load.make*Config`. */
export const defaults = {
  transport: "tcp" as TransportName,
  token: "",
  keepalive_period: 20,
  // The Go tool's user-facing and target sockets always had TCP_NODELAY (Go's default), whatever this
  // key said; defaulting to true keeps that, and costs no system call where the runtime sets it anyway.
  nodelay: true,
  log_level: "info" as LogLevelName,
  mux_session: 1,
  // Ours, not the Go tool's 32 KiB: frames of a chunk are written in one go anyway (one system call per
  // chunk, see mux/Session.sendData), so small frames only add copies — measured, 32 KiB frames cost
  // ~15 % of bulk throughput against 1 MiB. Its 64 KiB stream buffer is under the 256 KiB every stream
  // starts with (see transport/mux/Settings.ts).
  mux_framesize: 1_048_576,
  mux_streambuffer: 4 * 1024 * 1024,
  mux_recievebuffer: 16 * 1024 * 1024,
  heartbeat: 10,
  dial_timeout: 10,
  channel_size: 2048,
  connection_pool: 8,
  retry_interval: 1,
  ws_path: "/",
  // under nginx's 60 s proxy_read_timeout and Cloudflare's ~100 s idle cut, with room for a lost ping
  ws_ping_interval: 25,
  tls_insecure_skip_verify: false,
  // several clients with the token may be live at once and share the user connections (growing past one
  // machine behind the NAT); bounded so a leaked token cannot pile up sessions. 1 = one client at a time.
  max_clients: 16,
  // SIGTERM: live connections get this long to finish before the process exits
  drain_timeout: 10,
  // reload on SIGHUP only, unless asked to watch the file too
  watch_config: false
} as const

/** Describes a TOML value in a message: strings quoted, tables and arrays by kind. */
export const describeValue = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
  if (typeof u === "number" || typeof u === "boolean" || typeof u === "bigint") return String(u)
  if (u === undefined) return "nothing"
  if (Array.isArray(u)) return "an array"
  if (u instanceof Date) return "a date"
  return "a table"
}

/**
 * A message annotation. `override` replaces the messages of inner failures too (an integer given a string);
 * arrays leave it off so a bad element keeps its own message and path.
 */
const message = (f: (actual: unknown) => string, override = true) => (issue: ParseResult.ParseIssue) => ({
  message: f(issue.actual),
  override
})

/** An integer in `min..max`, with one message for every way of missing it. */
const integer = (min: number, max: number) =>
  Schema.Number.pipe(
    Schema.int(),
    Schema.between(min, max),
    Schema.annotations({
      message: message((a) => `expected an integer from ${min} to ${max}, got ${describeValue(a)}`)
    })
  )

/** A duration in seconds, fractions allowed (`0.5`), in `min..max`. */
const seconds = (min: number, max: number) =>
  Schema.Number.pipe(
    Schema.finite(),
    Schema.between(min, max),
    Schema.annotations({
      message: message((a) => `expected a number of seconds from ${min} to ${max}, got ${describeValue(a)}`)
    })
  )

const boolean = Schema.Boolean.annotations({
  message: message((a) => `expected true or false, got ${describeValue(a)}`)
})

/** A string that must be one of `values`, suggesting the closest on a typo. */
const oneOf = <const A extends string>(values: ReadonlyArray<A>, what: string) =>
  Schema.String.pipe(
    Schema.filter((s): s is A => (values as ReadonlyArray<string>).includes(s), {
      message: message((a) => {
        const list = values.join(", ")
        if (typeof a !== "string") return `expected a ${what} (${list}), got ${describeValue(a)}`
        const near = DidYouMean.closest(a, values)
        return `unknown ${what} ${JSON.stringify(a)}; expected one of ${list}${near === undefined ? "" : `; did you mean "${near}"?`}`
      })
    })
  )

const text = (example: string) =>
  Schema.String.annotations({
    message: message((a) => `expected a string like ${JSON.stringify(example)}, got ${describeValue(a)}`)
  })

/** Lifts a grammar function into a string-decoding transformation whose failures carry its message. */
const fromGrammar = <A>(
  from: Schema.Schema<string>,
  to: Schema.Schema<A>,
  parse: (s: string) => Either.Either<A, string>,
  format: (a: A) => string
) =>
  Schema.transformOrFail(from, to, {
    strict: true,
    decode: (s, _, ast) =>
      Either.match(parse(s), {
        onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, s, reason)),
        onRight: (a) => ParseResult.succeed(a)
      }),
    encode: (a) => ParseResult.succeed(format(a))
  })

/** The decoded form of an address. */
export const HostPortStruct: Schema.Schema<HostPort> = Schema.Struct({ host: Schema.String, port: Schema.Number })

/** The decoded form of a `ports` entry. */
export const PortMappingStruct: Schema.Schema<PortMappingType> = Schema.Struct({
  source: Schema.String,
  bindHost: Schema.String,
  from: Schema.Number,
  to: Schema.Number,
  targetHost: Schema.String,
  targetPort: Schema.UndefinedOr(Schema.Number)
})

/** `bind_addr`: where the server listens; `":3080"` means every IPv4 interface. */
export const BindAddr = fromGrammar(
  text("0.0.0.0:3080"),
  HostPortStruct,
  (s) => PortMapping.parseHostPort(s, "bind_addr", PortMapping.DEFAULT_BIND_HOST),
  formatHostPort
)

/** `remote_addr`: the server the client dials. */
export const RemoteAddr = fromGrammar(
  text("203.0.113.7:3080"),
  HostPortStruct,
  (s) => PortMapping.parseHostPort(s, "remote_addr"),
  formatHostPort
)

/** One `ports` entry. */
export const PortMappingFromString = fromGrammar(
  text("4000=5201"),
  PortMappingStruct,
  PortMapping.parsePortMapping,
  (m) => m.source
)

/**
 * An array of grammar strings decoded together, so one bad entry does not hide the others: every element
 * is parsed, then `check` sees the good ones (with their positions) to report cross-entry problems.
 */
const entryList = <A, T>(options: {
  readonly example: string
  readonly to: Schema.Schema<T>
  readonly parse: (s: string) => Either.Either<A, string>
  readonly check: (good: ReadonlyArray<readonly [number, A]>) => ReadonlyArray<{ index: number; message: string }>
  readonly build: (good: ReadonlyArray<A>) => T
  readonly format: (t: T) => ReadonlyArray<string>
}) =>
  Schema.transformOrFail(
    Schema.Array(Schema.Unknown).annotations({
      message: message((a) => `expected an array of strings like [${JSON.stringify(options.example)}], got ${describeValue(a)}`)
    }),
    options.to,
    {
      strict: true,
      decode: (entries, _, ast) => {
        const issues: Array<ParseResult.Pointer> = []
        const good: Array<readonly [number, A]> = []
        const fail = (index: number, reason: string) =>
          issues.push(new ParseResult.Pointer(index, entries, new ParseResult.Type(ast, entries[index], reason)))
        entries.forEach((entry, index) => {
          if (typeof entry !== "string") {
            return fail(index, `expected a string like ${JSON.stringify(options.example)}, got ${describeValue(entry)}`)
          }
          Either.match(options.parse(entry), {
            onLeft: (reason) => fail(index, reason),
            onRight: (a) => good.push([index, a])
          })
        })
        for (const p of options.check(good)) fail(p.index, p.message)
        issues.sort((x, y) => Number(x.path) - Number(y.path))
        return Arr.isNonEmptyArray(issues)
          ? ParseResult.fail(new ParseResult.Composite(ast, entries, issues))
          : ParseResult.succeed(options.build(good.map(([, a]) => a)))
      },
      encode: (t) => ParseResult.succeed(options.format(t))
    }
  )

/** `ports`: the entries, rejecting listen addresses claimed twice (reported on the later entry). */
export const Ports = entryList({
  example: "4000=5201",
  to: Schema.Array(PortMappingStruct),
  parse: PortMapping.parsePortMapping,
  check: PortMapping.validateIndexedMappings,
  build: (good) => good,
  format: (list) => list.map((m) => m.source)
})

/** One `forwarder` entry: server port → address. */
export const ForwarderFromString = fromGrammar(
  text("4000=127.0.0.1:5201"),
  Schema.Tuple(Schema.Number, HostPortStruct),
  PortMapping.parseForwarder,
  ([port, target]) => `${port}=${formatHostPort(target)}`
)

/** `forwarder`: the entries as a map, rejecting a server port forwarded twice. */
export const Forwarder = entryList({
  example: "4000=127.0.0.1:5201",
  to: Schema.ReadonlyMapFromSelf({ key: Schema.Number, value: HostPortStruct }),
  parse: PortMapping.parseForwarder,
  check: (good) => {
    const seen = new Map<number, number>()
    const problems: Array<{ index: number; message: string }> = []
    for (const [index, [port]] of good) {
      const first = seen.get(port)
      if (first === undefined) seen.set(port, index)
      else problems.push({ index, message: `server port ${port} is already forwarded by forwarder[${first}]` })
    }
    return problems
  },
  build: (good) => new Map(good),
  format: (map) => Array.from(map, ([port, target]) => `${port}=${formatHostPort(target)}`)
})

/** `ws_path`: the HTTP path of the WebSocket upgrade. */
export const WsPath = Schema.String.pipe(
  Schema.filter((s) => s.startsWith("/") && !/[\s?#]/.test(s), {
    message: message((a) =>
      typeof a === "string"
        ? `expected a path starting with "/" and without spaces, "?" or "#", got ${describeValue(a)}`
        : `expected a path like "/tunnel", got ${describeValue(a)}`
    )
  })
)

/** A file path (TLS files); whether it exists and parses is checked by `TlsFiles.ts`. */
const FilePath = Schema.String.pipe(
  Schema.filter((s) => s.trim() !== "", {
    message: message((a) => `expected a file path, got ${describeValue(a)}`)
  })
)

/** `tls_server_name`: a DNS name or an IP address. */
const ServerName = Schema.String.pipe(
  Schema.filter((s) => /^[A-Za-z0-9.:_-]+$/.test(s), {
    message: message((a) => `expected a host name like "tunnel.example.com", got ${describeValue(a)}`)
  })
)

/** `edge_ip`: a CDN edge address dialed instead of `remote_addr`'s host; the port is optional. */
export const EdgeIp = fromGrammar(
  text("188.114.96.0"),
  Schema.UndefinedOr(Schema.Struct({ host: Schema.String, port: Schema.UndefinedOr(Schema.Number) })),
  (s) => {
    // the Go tool's templates carry `edge_ip = ""`: no edge
    if (s.trim() === "") return Either.right(undefined)
    const withPort = PortMapping.parseHostPort(s, "edge_ip")
    if (Either.isRight(withPort)) return withPort
    const host = s.trim().replace(/^\[(.*)\]$/, "$1")
    return /^[A-Za-z0-9.:_-]+$/.test(host) && host !== ""
      ? Either.right({ host, port: undefined })
      : Either.left(`edge_ip ${JSON.stringify(s)} is not an address; expected an IP or host, with or without :port`)
  },
  (e) => (e === undefined ? "" : e.port === undefined ? e.host : formatHostPort({ host: e.host, port: e.port }))
)

/** `trusted_proxies`: addresses and CIDR ranges whose X-Forwarded-For / X-Real-IP are believed. */
export const TrustedProxiesList = entryList({
  example: "127.0.0.1",
  to: Schema.Array(Schema.String),
  parse: (s) => {
    const problem = TrustedProxies.entryProblem(s.trim())
    return problem === undefined ? Either.right(s.trim()) : Either.left(problem)
  },
  check: () => [],
  build: (good) => good,
  format: (list) => list
})

/**
 * `allowed_targets` (client): the targets the client dials when the server names them, as `HOST:PORTS`
 * patterns (`127.0.0.1:8080`, `10.0.0.0/8:*`, `[fd00::/8]:*`, `db.lan:5432`, `*:443`, `host:8000-8100`;
 * see `client/AllowedTargets.ts`). Absent: every target, as the Go tool and its configs expect; `[]`: none
 * (only `forwarder` entries are dialed). `forwarder` targets are the client's own choice and are not
 * checked against it.
 */
export const AllowedTargetsList = entryList({
  example: "127.0.0.1:8080",
  to: Schema.Array(Schema.String),
  parse: (s) => {
    const problem = AllowedTargets.entryProblem(s)
    return problem === undefined ? Either.right(s.trim()) : Either.left(problem)
  },
  check: () => [],
  build: (good) => good,
  format: (list) => list
})

/** `token`: decoded straight into `Redacted` so it never reaches a log. */
export const Token = Schema.Redacted(
  // the value is never echoed, not even a wrongly typed one: `token = 12345678` may be the real secret
  Schema.String.annotations({
    message: message((a) => {
      const kind = typeof a === "number" || typeof a === "bigint" ? "a number" : typeof a === "boolean" ? "true or false" : describeValue(a)
      return `expected a string in quotes, got ${kind} (the value is not shown)`
    })
  })
)

/** `transport`: any name of the grammar; whether it is implemented is checked where transports are built. */
export const Transport = oneOf(transportNames, "transport")

/** `log_level`. */
export const LogLevel = oneOf(logLevels, "log level")

/** A value of a key accepted only for compatibility: any TOML scalar. */
const Scalar = Schema.Unknown.pipe(
  Schema.filter(
    (u): u is string | number | boolean =>
      typeof u === "string" || typeof u === "number" || typeof u === "boolean",
    { message: message((a) => `expected a string, number or boolean, got ${describeValue(a)}`) }
  )
)

/** Keys of the newer Go tool accepted on both roles but not implemented (each yields one warning). */
export const compatibilityKeys = [
  "aggressive_pool",
  "mux_con",
  "mux_version",
  "sniffer",
  "web_port",
  "sniffer_log",
  "accept_udp",
  "skip_optz",
  "mss",
  "so_rcvbuf",
  "so_sndbuf",
  "proxy_protocol",
  "pprof"
] as const

/** Keys only the client of the newer Go tool has, accepted and ignored here. */
export const clientCompatibilityKeys = ["connection_pool"] as const

/** Client keys the newer Go tool's server templates carry too, accepted and ignored there. */
export const serverCompatibilityKeys = ["edge_ip"] as const

const compatibilityFields = <const K extends ReadonlyArray<string>>(keys: K) =>
  Object.fromEntries(keys.map((k) => [k, Schema.optionalWith(Scalar, { exact: true })])) as {
    readonly [P in K[number]]: Schema.optionalWith<typeof Scalar, { exact: true }>
  }

const withDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value, exact: true })

const common = {
  transport: withDefault(Transport, () => defaults.transport),
  token: withDefault(Token, () => Redacted.make(defaults.token)),
  keepalive_period: withDefault(integer(1, 86_400), () => defaults.keepalive_period),
  nodelay: withDefault(boolean, () => defaults.nodelay),
  log_level: withDefault(LogLevel, () => defaults.log_level),
  mux_session: withDefault(integer(1, 256), () => defaults.mux_session),
  mux_framesize: withDefault(integer(1_024, 16_777_216), () => defaults.mux_framesize),
  mux_streambuffer: withDefault(integer(1_024, 1_073_741_824), () => defaults.mux_streambuffer),
  mux_recievebuffer: withDefault(integer(65_536, 1_073_741_824), () => defaults.mux_recievebuffer),
  heartbeat: withDefault(integer(1, 3_600), () => defaults.heartbeat),
  dial_timeout: withDefault(integer(1, 600), () => defaults.dial_timeout),
  ws_path: withDefault(WsPath, () => defaults.ws_path),
  ws_ping_interval: withDefault(integer(1, 3_600), () => defaults.ws_ping_interval),
  drain_timeout: withDefault(integer(0, 3_600), () => defaults.drain_timeout),
  watch_config: withDefault(boolean, () => defaults.watch_config)
}

/** The `[server]` table. */
export const ServerSection = Schema.Struct({
  bind_addr: BindAddr,
  ...common,
  channel_size: withDefault(integer(1, 1_000_000), () => defaults.channel_size),
  connection_pool: withDefault(integer(0, 1_024), () => defaults.connection_pool),
  ports: Ports,
  tls_cert: Schema.optionalWith(FilePath, { exact: true }),
  tls_key: Schema.optionalWith(FilePath, { exact: true }),
  trusted_proxies: withDefault(TrustedProxiesList, () => []),
  max_clients: withDefault(integer(1, 1_024), () => defaults.max_clients),
  ...compatibilityFields([...compatibilityKeys, ...serverCompatibilityKeys])
})

/** The `[client]` table. */
export const ClientSection = Schema.Struct({
  remote_addr: RemoteAddr,
  ...common,
  // fractions allowed: a client next to its server (or a test) may retry sooner than once a second
  retry_interval: withDefault(seconds(0.1, 3_600), () => defaults.retry_interval),
  forwarder: withDefault(Forwarder, () => new Map<number, HostPort>()),
  tls_ca: Schema.optionalWith(FilePath, { exact: true }),
  tls_server_name: Schema.optionalWith(ServerName, { exact: true }),
  tls_insecure_skip_verify: withDefault(boolean, () => defaults.tls_insecure_skip_verify),
  edge_ip: Schema.optionalWith(EdgeIp, { exact: true }),
  allowed_targets: Schema.optionalWith(AllowedTargetsList, { exact: true }),
  ...compatibilityFields([...compatibilityKeys, ...clientCompatibilityKeys])
})

/** What decoding `[server]` yields (before `Load.ts` keeps only the implemented keys). */
export type ServerSection = Schema.Schema.Type<typeof ServerSection>

/** What decoding `[client]` yields. */
export type ClientSection = Schema.Schema.Type<typeof ClientSection>

/** Every key each section accepts, for "did you mean" and "belongs in [server]" hints. */
export const knownKeys = {
  server: Object.keys(ServerSection.fields),
  client: Object.keys(ClientSection.fields)
} as const

/** Keys accepted and ignored for a reason other than "not yet", with that reason. */
const ignoredBecause: Readonly<Record<string, string>> = {
  mux_version: "the multiplexer here is backhaul's own (its version travels in every frame), not smux v1/v2",
  mux_con: "every user connection is a stream of its own; mux_session sets how many connections carry them"
}

/** The warning for a compatibility key present in the file. */
export const compatibilityWarning = (role: "server" | "client", key: string): string => {
  if (role === "server" && key === "edge_ip") {
    return `server.edge_ip: accepted for compatibility but ignored; edge_ip is a client key (the CDN address the client dials)`
  }
  if (role === "client" && key === "connection_pool") {
    return `client.connection_pool: accepted for compatibility but ignored; the server's connection_pool decides the pool size`
  }
  const why = ignoredBecause[key]
  return why === undefined
    ? `${role}.${key}: accepted for compatibility but not implemented yet; ignored`
    : `${role}.${key}: accepted for compatibility but ignored: ${why}`
}

/** One warning per compatibility key present in a section, in the order of `compatibilityKeys`. */
export const compatibilityWarnings = (
  role: "server" | "client",
  section: Readonly<Record<string, unknown>>
): Array<string> => {
  const keys: ReadonlyArray<string> =
    role === "server" ? [...compatibilityKeys, ...serverCompatibilityKeys] : [...compatibilityKeys, ...clientCompatibilityKeys]
  return keys.filter((k) => section[k] !== undefined).map((k) => compatibilityWarning(role, k))
}
