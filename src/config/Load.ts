/**
 * TOML file → typed `ServerConfig` / `ClientConfig`: reading, role detection, decoding with every problem
 * reported as `path (line N): message`, compatibility warnings, constructors with defaults for programs that
 * embed the library without a file, and the human summary `backhaul check` prints.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import { parse as parseToml, TomlError } from "smol-toml"
import { formatHostPort, type AnyConfig, type ClientConfig, type HostPort, type PortMapping, type ServerConfig } from "./Config.ts"
import * as DidYouMean from "./DidYouMean.ts"
import * as Mapping from "./PortMapping.ts"
import * as ConfigSchema from "./Schema.ts"
import * as TlsFiles from "./TlsFiles.ts"
import * as TomlLocate from "./TomlLocate.ts"
import { implemented as implementedTransports } from "../transport/Transports.ts"

/** Which role a file configures. */
export type Role = "server" | "client"

const roles: ReadonlyArray<Role> = ["server", "client"]

/** Why a config could not be loaded; `problems` holds one printable line each. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  reason: Schema.Literal("Read", "Syntax", "Invalid", "Role"),
  file: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  get message(): string {
    const what = {
      Read: "cannot read the config file",
      Syntax: "TOML syntax error",
      Invalid: this.problems.length === 1 ? "1 problem" : `${this.problems.length} problems`,
      Role: "cannot tell which role to run"
    }[this.reason]
    return [`${this.file}: ${what}`, ...this.problems.map((p) => `  ${p}`)].join("\n")
  }
}

/** A loaded config and the warnings to show the user (one per ignored compatibility key). */
export interface Loaded {
  readonly config: AnyConfig
  readonly warnings: ReadonlyArray<string>
}

/** `server.ports[2]` from `["server", "ports", 2]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc === "" ? String(p) : `${acc}.${String(p)}`),
    ""
  )

const problemLine = (text: string, path: ReadonlyArray<PropertyKey>, message: string): { line: number | undefined; text: string } => {
  const line = TomlLocate.findLine(text, path)
  return { line, text: `${formatPath(path)}${line === undefined ? "" : ` (line ${line})`}: ${message}` }
}

/** Problems sorted by line (those without one last), duplicates dropped. */
const ordered = (problems: ReadonlyArray<{ line: number | undefined; text: string }>): Array<string> =>
  Array.from(
    new Set(
      problems
        .map((p, i) => ({ ...p, i }))
        .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || a.i - b.i)
        .map((p) => p.text)
    )
  )

const otherRole = (role: Role): Role => (role === "server" ? "client" : "server")

const unknownKeyMessage = (role: Role, key: string): string => {
  if (ConfigSchema.knownKeys[otherRole(role)].includes(key)) {
    return `unknown key; "${key}" belongs in [${otherRole(role)}], not [${role}]`
  }
  const near = DidYouMean.closest(key, ConfigSchema.knownKeys[role])
  return near === undefined ? "unknown key" : `unknown key; did you mean "${near}"?`
}

const isTable = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date)

const fail = (reason: ConfigError["reason"], file: string, problems: ReadonlyArray<string>) =>
  Effect.fail(new ConfigError({ reason, file, problems }))

const syntaxError = (file: string, e: unknown): ConfigError => {
  if (e instanceof TomlError) {
    const first = e.message.split("\n")[0]!.replace(/^Invalid TOML document:\s*/, "")
    return new ConfigError({ reason: "Syntax", file, problems: [`${file}:${e.line}:${e.column}: ${first}`] })
  }
  return new ConfigError({ reason: "Syntax", file, problems: [`${file}: ${String(e)}`] })
}

/** Picks the role from the sections present (or checks the forced one). */
const detectRole = (doc: Record<string, unknown>, file: string, forced: Role | undefined) => {
  const present = roles.filter((r) => r in doc)
  if (forced !== undefined) {
    if (present.includes(forced)) return Effect.succeed(forced)
    const found = present.length > 0 ? `it has [${present[0]}]` : "it has neither [server] nor [client]"
    return fail("Role", file, [`the ${forced} role needs a [${forced}] section; ${found}`])
  }
  if (present.length === 1) return Effect.succeed(present[0]!)
  if (present.length === 2) {
    return fail("Role", file, [
      "the file has both [server] and [client]; pick one: `backhaul server -c FILE` or `backhaul client -c FILE` " +
        "to run it, `backhaul check --role server -c FILE` (or `--role client`) to check it"
    ])
  }
  const hints = Object.keys(doc).flatMap((k) => {
    const near = DidYouMean.closest(k, roles)
    return near === undefined ? [] : [`found [${k}]; did you mean [${near}]?`]
  })
  return fail("Role", file, [
    "the file has neither a [server] nor a [client] section",
    ...hints
  ])
}

/** Top-level entries other than the role sections (the other role's section is allowed and ignored). */
const topLevelProblems = (doc: Record<string, unknown>, text: string) =>
  Object.keys(doc)
    .filter((k) => !roles.includes(k as Role))
    .map((k) => {
      if (!isTable(doc[k])) {
        const owner = roles.find((r) => ConfigSchema.knownKeys[r].includes(k))
        return problemLine(
          text,
          [k],
          owner === undefined ? "unknown key outside any section" : `key outside any section; it belongs under [${owner}]`
        )
      }
      const near = DidYouMean.closest(k, roles)
      return problemLine(text, [k], `unknown section${near === undefined ? "" : `; did you mean [${near}]?`}`)
    })

/** Turns a decode failure into one line per issue. */
const issueProblems = (error: ParseResult.ParseError, text: string, role: Role) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const path = [role, ...issue.path]
    switch (issue._tag) {
      case "Unexpected":
        return problemLine(text, path, unknownKeyMessage(role, String(issue.path[issue.path.length - 1])))
      case "Missing":
        return problemLine(text, path, "required key is missing")
      default:
        return problemLine(text, path, issue.message)
    }
  })

const commonFromSection = (s: ConfigSchema.ServerSection | ConfigSchema.ClientSection) => ({
  transport: s.transport,
  token: s.token,
  keepalive_period: s.keepalive_period,
  nodelay: s.nodelay,
  log_level: s.log_level,
  mux_session: s.mux_session,
  mux_framesize: s.mux_framesize,
  mux_streambuffer: s.mux_streambuffer,
  mux_recievebuffer: s.mux_recievebuffer,
  heartbeat: s.heartbeat,
  dial_timeout: s.dial_timeout,
  ws_path: s.ws_path,
  ws_ping_interval: s.ws_ping_interval,
  drain_timeout: s.drain_timeout,
  watch_config: s.watch_config
})

const serverFromSection = (s: ConfigSchema.ServerSection): ServerConfig => ({
  role: "server",
  bind_addr: s.bind_addr,
  ...commonFromSection(s),
  channel_size: s.channel_size,
  connection_pool: s.connection_pool,
  ports: s.ports,
  tls_cert: s.tls_cert,
  tls_key: s.tls_key,
  trusted_proxies: s.trusted_proxies,
  max_clients: s.max_clients
})

const clientFromSection = (s: ConfigSchema.ClientSection): ClientConfig => ({
  role: "client",
  remote_addr: s.remote_addr,
  ...commonFromSection(s),
  retry_interval: s.retry_interval,
  forwarder: s.forwarder,
  tls_ca: s.tls_ca,
  tls_server_name: s.tls_server_name,
  tls_insecure_skip_verify: s.tls_insecure_skip_verify,
  edge_ip: s.edge_ip,
  allowed_targets: s.allowed_targets
})

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const

/** `log_level = "trace"` is accepted (Go configs have it) but says so: nothing logs below debug. */
const levelWarnings = (role: Role, section: Record<string, unknown>): Array<string> =>
  section.log_level === "trace" ? [`${role}.log_level: "trace" logs the same as "debug" (nothing is logged below debug)`] : []

/** Decodes one role's table; problems carry the full path and the line. */
const decodeSection = (doc: Record<string, unknown>, text: string, role: Role) => {
  const section = doc[role]
  if (!isTable(section)) {
    return Either.left([problemLine(text, [role], `expected a [${role}] table, got ${ConfigSchema.describeValue(section)}`)])
  }
  const warnings = [...ConfigSchema.compatibilityWarnings(role, section), ...levelWarnings(role, section)]
  const decoded: Either.Either<AnyConfig, ParseResult.ParseError> =
    role === "server"
      ? Either.map(Schema.decodeUnknownEither(ConfigSchema.ServerSection)(section, decodeOptions), serverFromSection)
      : Either.map(Schema.decodeUnknownEither(ConfigSchema.ClientSection)(section, decodeOptions), clientFromSection)
  return Either.match(decoded, {
    onLeft: (error) => Either.left(issueProblems(error, text, role)),
    onRight: (config) =>
      // the grammar takes every transport name the Go tool knows; this build runs fewer
      implementedTransports.includes(config.transport)
        ? Either.right({ config, warnings })
        : Either.left([problemLine(
          text,
          [role, "transport"],
          `transport "${config.transport}" is not implemented in this version yet (available: ${implementedTransports.join(", ")})`
        )])
  })
}

/**
 * Decodes a document (parsed TOML, or `{ server: {...} }` built by a program) into a config; `text` is the
 * TOML it came from, for line numbers ("" when there is none).
 */
export const decodeDocument = (
  doc: Record<string, unknown>,
  text: string,
  file: string,
  role?: Role
): Effect.Effect<Loaded, ConfigError> =>
  Effect.gen(function*() {
    const chosen = yield* detectRole(doc, file, role)
    const outside = topLevelProblems(doc, text)
    const section = decodeSection(doc, text, chosen)
    // files named by the config are checked only once every key decodes
    const files = Either.isRight(section)
      ? TlsFiles.problems(section.right.config).map((p) => problemLine(text, [chosen, p.key], p.message))
      : []
    const problems = [...outside, ...(Either.isLeft(section) ? section.left : []), ...files]
    if (problems.length > 0 || Either.isLeft(section)) return yield* fail("Invalid", file, ordered(problems))
    return section.right
  })

/** `decodeDocument` outside Effect (it is synchronous): the config, or the `ConfigError` thrown. */
export const decodeDocumentSync = (doc: Record<string, unknown>, file: string, role: Role): Loaded => {
  const loaded = Effect.runSync(Effect.either(decodeDocument(doc, "", file, role)))
  if (Either.isLeft(loaded)) throw loaded.left
  return loaded.right
}

/** Parses TOML text (named `file` in messages) into a config; `role` forces the section to use. */
export const parseConfigText = (
  text: string,
  file: string,
  role?: Role
): Effect.Effect<Loaded, ConfigError> =>
  Effect.flatMap(
    Effect.try({ try: () => parseToml(text) as Record<string, unknown>, catch: (e) => syntaxError(file, e) }),
    (doc) => decodeDocument(doc, text, file, role)
  )

const readProblem = (path: string, e: unknown): string => {
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : undefined
  switch (code) {
    case "ENOENT":
      return `cannot read ${path}: file not found`
    case "EACCES":
    case "EPERM":
      return `cannot read ${path}: permission denied`
    case "EISDIR":
      return `cannot read ${path}: it is a directory`
    default:
      return `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`
  }
}

/** Reads and parses a config file; `role` forces the section to use (`backhaul server -c …`). */
export const loadConfigFile = Effect.fn("Config.loadConfigFile")(function*(path: string, role?: Role) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) => new ConfigError({ reason: "Read", file: path, problems: [readProblem(path, e)] })
  })
  return yield* parseConfigText(text, path, role)
})

/** `a` without its keys set to `undefined` (an unset optional value is an absent key). */
export const definedOnly = <A extends object>(a: A): Partial<A> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<A>

/** Every optional key at its default, straight from the Schema (the required keys are placeholders). */
const schemaDefaults = (role: Role): Record<string, unknown> =>
  role === "server"
    ? Schema.decodeUnknownSync(ConfigSchema.ServerSection)({ bind_addr: "127.0.0.1:1", ports: [] })
    : Schema.decodeUnknownSync(ConfigSchema.ClientSection)({ remote_addr: "127.0.0.1:1" })

/**
 * Checks typed values as if they had been written in a file: merged over the defaults, encoded back into
 * the TOML shape and decoded through the same Schema, so a value a file could not hold (a heartbeat of 0,
 * a port of 70000) fails here with the same message. Throws the `ConfigError`.
 */
const validated = (role: Role, typed: Record<string, unknown>): AnyConfig => {
  const schema: Schema.Schema<unknown, unknown> = (role === "server" ? ConfigSchema.ServerSection : ConfigSchema.ClientSection) as never
  const file = `${role} config`
  const encoded = Schema.encodeEither(schema)({ ...schemaDefaults(role), ...definedOnly(typed) }, decodeOptions)
  if (Either.isLeft(encoded)) {
    throw new ConfigError({ reason: "Invalid", file, problems: ordered(issueProblems(encoded.left, "", role)) })
  }
  return decodeDocumentSync({ [role]: encoded.right }, file, role).config
}

/**
 * A server config from typed values, every omitted key at its default, checked as a file would be.
 * Throws a `ConfigError` naming every bad key. A port mapping is taken from its `source` text, as a file
 * holds it (the parsed fields are parsed again from it).
 */
export const makeServerConfig = (
  partial: Partial<Omit<ServerConfig, "role">> & { readonly bind_addr: HostPort; readonly ports: ReadonlyArray<PortMapping> }
): ServerConfig => validated("server", { ...partial, role: undefined }) as ServerConfig

/** A client config from typed values, every omitted key at its default, checked as a file would be. */
export const makeClientConfig = (
  partial: Partial<Omit<ClientConfig, "role">> & { readonly remote_addr: HostPort }
): ClientConfig => validated("client", { ...partial, role: undefined }) as ClientConfig

const authLine = (config: AnyConfig): string =>
  Redacted.value(config.token) === ""
    ? "auth: off (empty token: anyone who can reach the tunnel port can use it)"
    : "auth: on"

const tuningLine = (config: AnyConfig): string =>
  [
    `heartbeat ${config.heartbeat}s`,
    `keepalive ${config.keepalive_period}s`,
    `dial_timeout ${config.dial_timeout}s`,
    `nodelay ${config.nodelay ? "on" : "off"}`,
    ...(config.transport.includes("mux")
      ? [
        `mux_session ${config.mux_session}`,
        `mux_framesize ${config.mux_framesize}`,
        `mux_streambuffer ${config.mux_streambuffer}`,
        `mux_recievebuffer ${config.mux_recievebuffer}`
      ]
      : []),
    `log_level ${config.log_level}`
  ].join(", ")

/** The WebSocket and TLS lines of a summary (none for tcp and tcpmux). */
const webSocketLines = (config: AnyConfig): Array<string> => {
  if (!config.transport.startsWith("ws")) return []
  const ws = `websocket: ws_path ${JSON.stringify(config.ws_path)}, ping every ${config.ws_ping_interval}s`
  const secure = TlsFiles.secure(config.transport)
  if (config.role === "server") {
    return [
      ws,
      ...(secure ? [`tls: certificate ${config.tls_cert}, key ${config.tls_key}`] : []),
      config.trusted_proxies.length === 0
        ? "trusted_proxies: none (X-Forwarded-For and X-Real-IP are ignored)"
        : `trusted_proxies: ${config.trusted_proxies.join(", ")}`
    ]
  }
  const name = config.tls_server_name ?? config.remote_addr.host
  const trust = config.tls_insecure_skip_verify
    ? `NOT VERIFIED (tls_insecure_skip_verify = true)`
    : `verified against ${config.tls_ca ?? "the system's CA store"} for ${JSON.stringify(name)}`
  return [
    ws,
    ...(secure ? [`tls: server certificate ${trust}`] : []),
    ...(config.edge_ip === undefined
      ? []
      : [`edge_ip: dials ${config.edge_ip.host}${config.edge_ip.port === undefined ? "" : `:${config.edge_ip.port}`} (Host and SNI stay ${config.remote_addr.host})`])
  ]
}

/** What the server may make the client dial (`allowed_targets`). */
const allowedTargetsLine = ({ allowed_targets: list, forwarder }: ClientConfig): string =>
  list === undefined
    ? "allowed targets: any (set allowed_targets to restrict)"
    : list.length === 0
    ? `allowed targets: none (${forwarder.size === 0 ? "no forwarder entries either: nothing is dialed" : "only forwarder entries are dialed"})`
    : `allowed targets: ${list.join(", ")}${forwarder.size === 0 ? "" : " (forwarder entries are dialed as written)"}`

/** A short human summary for `backhaul check`; never shows the token. */
export const summarize = (config: AnyConfig): string => {
  if (config.role === "server") {
    const ports = config.ports.reduce((n, m) => n + Mapping.portCount(m), 0)
    return [
      "role: server",
      `bind_addr: ${formatHostPort(config.bind_addr)}`,
      `transport: ${config.transport}`,
      authLine(config),
      // a mux transport keeps no pool: connection_pool does nothing there
      `${config.transport.includes("mux") ? "" : `connection_pool ${config.connection_pool}, `}channel_size ${config.channel_size}, ${tuningLine(config)}`,
      ...webSocketLines(config),
      `listeners: ${ports} port${ports === 1 ? "" : "s"} in ${config.ports.length} mapping${config.ports.length === 1 ? "" : "s"}`,
      ...config.ports.map((m) => `  ${Mapping.formatListen(m)} -> ${Mapping.formatTarget(m)}`)
    ].join("\n")
  }
  const forwards = Array.from(config.forwarder.entries())
  return [
    "role: client",
    `remote_addr: ${formatHostPort(config.remote_addr)}`,
    `transport: ${config.transport}`,
    authLine(config),
    `retry_interval ${config.retry_interval}s, ${tuningLine(config)}`,
    ...webSocketLines(config),
    forwards.length === 0
      ? "forwarder: none (the server's targets are dialed)"
      : `forwarder: ${forwards.length} entr${forwards.length === 1 ? "y" : "ies"}`,
    ...forwards.map(([port, target]) => `  ${port} -> ${formatHostPort(target)}`),
    allowedTargetsLine(config)
  ].join("\n")
}
