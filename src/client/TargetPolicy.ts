/**
 * Applies a client's `allowed_targets` to the targets its server names: the compiled patterns and the
 * warning for refusals, made once per client (kept beside its context, remade if its config is
 * replaced). A refusal is counted in `stats.failed` and logged with the target and the server port, at
 * a rate limit of its own so a hostile server's flood of refused targets neither fills the log nor hides
 * the client's other warnings behind "similar suppressed".
 *
 * Per-connection path: plain functions, one WeakMap lookup and the matcher (see `AllowedTargets.ts`).
 */
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import { formatHostPort, type ClientConfig, type HostPort } from "../config/Config.ts"
import type { ClientContext } from "../transport/Channels.ts"
import * as Log from "../util/Log.ts"
import * as AllowedTargets from "./AllowedTargets.ts"

interface Policy {
  readonly config: ClientConfig
  readonly allows: (host: string, port: number) => boolean
  /** why every target is refused: a pattern that does not compile (a config built in code, not loaded) */
  readonly broken: string | undefined
  readonly warn: (message: string) => void
}

const policies = new WeakMap<ClientContext, Policy>()

const policyOf = (ctx: ClientContext): Policy => {
  let policy = policies.get(ctx)
  if (policy === undefined || policy.config !== ctx.config) {
    const compiled = AllowedTargets.compile(ctx.config.allowed_targets ?? [])
    policy = {
      config: ctx.config,
      // fail closed: a list that cannot be read allows nothing
      allows: Either.isRight(compiled) ? compiled.right.allows : () => false,
      broken: Either.isLeft(compiled) ? compiled.left : undefined,
      warn: Log.rateLimited(ctx.log, LogLevel.Warning)
    }
    policies.set(ctx, policy)
  }
  return policy
}

/**
 * Whether the client may dial `target`, which the server named for its port `serverPort`; a refusal is
 * counted and logged here. Without `allowed_targets` every target is admitted.
 */
export const admits = (ctx: ClientContext, target: HostPort, serverPort: number): boolean => {
  if (ctx.config.allowed_targets === undefined) return true
  const policy = policyOf(ctx)
  if (policy.allows(target.host, target.port)) return true
  ctx.stats.failed++
  policy.warn(
    `refused target ${formatHostPort(target)} for server port ${serverPort}: ` +
      (policy.broken === undefined ? "not in allowed_targets" : `${policy.broken}, so every server target is refused`)
  )
  return false
}
