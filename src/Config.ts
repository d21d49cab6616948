/**
 * Tunnel configs: from a file, from TOML text, or from a plain object a program writes — all three
 * through the same Schema, checks and messages (`server.ports[1] (line 7): …`; objects have no lines).
 * The object takes the file's keys and types:
 *
 *   const config = yield* Config.server({ bind_addr: "0.0.0.0:3080", token: "secret", ports: ["443=5000"] })
 */
export type { AnyConfig, ClientConfig, HostPort, LogLevelName, PortMapping, ServerConfig, TransportName } from "./config/Config.ts"
export { formatHostPort } from "./config/Config.ts"
export { client, clientSync, type ClientInput, server, serverSync, type ServerInput } from "./config/FromObject.ts"
export {
  ConfigError,
  type Loaded,
  loadConfigFile as load,
  parseConfigText as parse,
  type Role,
  summarize
} from "./config/Load.ts"
export { defaults } from "./config/Schema.ts"
