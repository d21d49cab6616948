/**
 * Why a listen failed, in words an operator can act on. The runtimes say it badly: Bun's native sockets
 * report every failure as "Failed to listen at HOST" (the errno is only in `code`, and an unresolvable
 * host has no code at all), and `node:net` reports a non-local IPv4 address as EINVAL. This module turns
 * the error into the errno's meaning, asking the system only on this (rare) path.
 */
import * as dns from "node:dns"
import * as net from "node:net"
import * as os from "node:os"
import * as Effect from "effect/Effect"

/** An errno's meaning for a listener, by code. */
const meanings: Record<string, string> = {
  EADDRINUSE: "address already in use (another process listens on it)",
  EADDRNOTAVAIL: "not an address of this machine",
  ENOTFOUND: "cannot resolve host",
  EAI_NONAME: "cannot resolve host",
  EAI_FAIL: "cannot resolve host",
  EAI_AGAIN: "cannot resolve host (no answer from DNS, try again)",
  EMFILE: "too many open files (the process's file descriptor limit is reached: raise `ulimit -n` or systemd LimitNOFILE=)",
  ENFILE: "too many open files in the system (fs.file-max is reached)"
}

/** The `code` of a system error (`EADDRINUSE`, …), if it has one. */
export const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/** Whether `host` is an address of one of this machine's interfaces (or a wildcard, which always is). */
const isLocal = (host: string): boolean => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  if (bare === "0.0.0.0" || bare === "::") return true
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.address === bare) return true
  }
  return false
}

/**
 * The meaning of a listen failure with `code` on `host:port`, or undefined when the code says nothing
 * more than the runtime's message does.
 */
export const meaning = (code: string | undefined, host: string, port: number): string | undefined => {
  if (code === undefined) return undefined
  if (code === "EACCES") {
    return port > 0 && port < 1024
      ? "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
      : "permission denied"
  }
  // node:net says EINVAL where the system said the address is not ours (an IPv4 address of no interface)
  if (code === "EINVAL" && net.isIP(host) !== 0 && !isLocal(host)) return meanings.EADDRNOTAVAIL
  return meanings[code]
}

/** `host`'s resolution failure code, or undefined when it resolves (or is an IP address). */
const resolveFailure = (host: string): Effect.Effect<string | undefined> =>
  net.isIP(host) !== 0
    ? Effect.succeed(undefined)
    : Effect.async<string | undefined>((resume) => {
      dns.lookup(host, (error) => resume(Effect.succeed(error ? codeOf(error) ?? "ENOTFOUND" : undefined)))
    })

/** What went wrong, explained: the errno's meaning, or the runtime's own message when there is none. */
export interface Explained {
  readonly detail: string
  readonly code: string | undefined
}

/**
 * Explains why listening on `host:port` failed. A failure without a code (Bun's, for a name it cannot
 * resolve) is checked with a lookup of the name.
 */
export const explain = (host: string, port: number, error: Error): Effect.Effect<Explained> =>
  Effect.gen(function*() {
    const code = codeOf(error) ?? (yield* resolveFailure(host))
    const known = meaning(code, host, port)
    return { detail: known ?? (code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message), code }
  })
