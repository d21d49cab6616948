/**
 * The process logger: the config's `log_level` mapped onto Effect's levels — or the command line's
 * `--log-level`, which beats it — in logfmt (default) or JSON (for log shippers), one line per event, on
 * stderr (stdout stays for command output).
 */
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { LogLevelName } from "../config/Config.ts"
import type * as Usage from "./Usage.ts"

/** Output formats. */
export type LogFormat = Usage.LogFormatChoice

/** Effect's level for a config level name (`trace` is Effect's Trace, though nothing logs there). */
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

/** Effect's level for a `--log-level` choice; `none` is Effect's None, above every line's level. */
export const choiceLevelOf = (choice: Usage.LogLevelChoice): LogLevel.LogLevel =>
  choice === "none" ? LogLevel.None : levelOf(choice)

/** The logger layer for the config's level and a format; `override` is a `--log-level`, which wins. */
export const layer = (level: LogLevelName, format: LogFormat, override?: Usage.LogLevelChoice): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.withConsoleError(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)
    ),
    Logger.minimumLogLevel(override === undefined ? levelOf(level) : choiceLevelOf(override))
  )
