/**
 * The process logger: the config's `log_level` mapped onto Effect's levels, in logfmt (default) or JSON
 * (for log shippers), one line per event, on stderr (stdout stays for command output).
 */
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { LogLevelName } from "../config/Config.ts"

/** Output formats. */
export type LogFormat = "logfmt" | "json"

/** Effect's level for a config level name. */
export const levelOf = (name: LogLevelName): LogLevel.LogLevel => {
  switch (name) {
    case "panic":
    case "fatal":
      return LogLevel.Fatal
    case "error":
      return LogLevel.Error
    case "warn":
      return LogLevel.Warning
    case "info":
      return LogLevel.Info
    case "debug":
      return LogLevel.Debug
    case "trace":
      return LogLevel.Trace
  }
}

/** The logger layer for a level and format. */
export const layer = (level: LogLevelName, format: LogFormat): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.withConsoleError(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)
    ),
    Logger.minimumLogLevel(levelOf(level))
  )
