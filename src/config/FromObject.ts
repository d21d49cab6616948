/**
 * Configs built by a program instead of read from a file: a plain object in the TOML shape (`bind_addr`
 * as `"0.0.0.0:3080"`, `ports` as strings, `token` as a string) goes through the same Schema, the same
 * checks (TLS files included) and the same messages as `[server]` / `[client]` in a file, without the
 * line numbers. Compatibility warnings are logged.
 */
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { ClientConfig, ServerConfig } from "./Config.ts"
import { type ConfigError, decodeDocument, decodeDocumentSync, definedOnly, type Role } from "./Load.ts"
import type * as ConfigSchema from "./Schema.ts"

/** Lists of the file are arrays of strings (`ports = ["443=5000"]`); the Schema itself takes any array. */
type WithLists<T, K extends keyof T> = Omit<T, K> & { readonly [P in K]?: ReadonlyArray<string> }

/** The `[server]` table as a program writes it: every key of the file, with the file's types. */
export type ServerInput =
  & WithLists<Schema.Schema.Encoded<typeof ConfigSchema.ServerSection>, "ports" | "trusted_proxies">
  & { readonly ports: ReadonlyArray<string> }

/** The `[client]` table as a program writes it. */
export type ClientInput = WithLists<
  Schema.Schema.Encoded<typeof ConfigSchema.ClientSection>,
  "forwarder" | "allowed_targets"
>

// a key set to `undefined` (`tls_cert: process.env.CERT` with the variable unset) is an absent key
const decode = (role: Role, input: object) =>
  Effect.flatMap(
    decodeDocument({ [role]: definedOnly(input) }, "", `${role} config`, role),
    ({ config, warnings }) => Effect.as(Effect.forEach(warnings, (w) => Effect.logWarning(w), { discard: true }), config)
  )

/**
 * A server config from a plain object, or a `ConfigError` with one line per problem
 * (`server.ports[1]: …`).
 *
 *   Config.server({ bind_addr: "0.0.0.0:3080", token: "secret", ports: ["443=5000"] })
 */
export const server = (input: ServerInput): Effect.Effect<ServerConfig, ConfigError> =>
  decode("server", input) as Effect.Effect<ServerConfig, ConfigError>

/**
 * A client config from a plain object, or a `ConfigError`.
 *
 *   Config.client({ remote_addr: "203.0.113.7:3080", token: "secret" })
 */
export const client = (input: ClientInput): Effect.Effect<ClientConfig, ConfigError> =>
  decode("client", input) as Effect.Effect<ClientConfig, ConfigError>

/** `server`, outside Effect: throws the `ConfigError` (compatibility warnings are not shown). */
export const serverSync = (input: ServerInput): ServerConfig =>
  decodeDocumentSync({ server: definedOnly(input) }, "server config", "server").config as ServerConfig

/** `client`, outside Effect: throws the `ConfigError` (compatibility warnings are not shown). */
export const clientSync = (input: ClientInput): ClientConfig =>
  decodeDocumentSync({ client: definedOnly(input) }, "client config", "client").config as ClientConfig
