/**
 * Which peers may tell us who they forward for (`trusted_proxies`: addresses and CIDR ranges), and the
 * address a trusted proxy's `X-Forwarded-For` / `X-Real-IP` names. Without it, a header is anyone's to
 * forge: a client could dodge the auth limiter or blame another address in the logs, so untrusted
 * peers' headers are ignored. Matching is `node:net`'s `BlockList` (the same under Node, Bun and Deno;
 * it also matches IPv4-mapped IPv6 peers against IPv4 ranges).
 */
import * as net from "node:net"
import type { Peer } from "../../net/Conn.ts"

export interface TrustedProxies {
  /** no proxy is trusted */
  readonly empty: boolean
  readonly has: (address: string) => boolean
}

/** Why one `trusted_proxies` entry is not an address or a CIDR range; undefined when it is. */
export const entryProblem = (entry: string): string | undefined => {
  const [address, bits, ...rest] = entry.split("/")
  const family = net.isIP(address ?? "")
  if (family === 0 || rest.length > 0) return `expected an IP address or CIDR range (e.g. "10.0.0.0/8"), got ${JSON.stringify(entry)}`
  if (bits === undefined) return undefined
  const n = Number(bits)
  const max = family === 4 ? 32 : 128
  return /^\d+$/.test(bits) && n <= max ? undefined : `prefix length of ${JSON.stringify(entry)} must be 0 to ${max}`
}

/** Builds the matcher; entries must have passed `entryProblem`. */
export const make = (entries: ReadonlyArray<string>): TrustedProxies => {
  const list = new net.BlockList()
  for (const entry of entries) {
    const [address, bits] = entry.split("/") as [string, string | undefined]
    const type = net.isIP(address) === 6 ? "ipv6" : "ipv4"
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  const has = (address: string) => {
    const family = net.isIP(address)
    return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4")
  }
  return { empty: entries.length === 0, has }
}

/** An address from a header: brackets and a port dropped (`[::1]:80`, `1.2.3.4:5`), or undefined if none. */
const addressOf = (raw: string): string | undefined => {
  let s = raw.trim()
  if (s.startsWith("[")) s = s.slice(1, s.indexOf("]") < 0 ? undefined : s.indexOf("]"))
  else if (s.includes(".") && s.lastIndexOf(":") > 0) s = s.slice(0, s.lastIndexOf(":"))
  return net.isIP(s) === 0 ? undefined : s
}

/**
 * The client a trusted proxy forwards for: the right-most `X-Forwarded-For` entry that is not itself a
 * trusted proxy (entries to its left are the client's to forge), else `X-Real-IP`; undefined when the
 * socket's peer is not trusted or names no valid address.
 */
export const forwardedPeer = (
  trusted: TrustedProxies,
  socketPeer: string | (() => string),
  headers: ReadonlyMap<string, string>
): Peer | undefined => {
  // the socket's address is a system call: asked only when some proxy is trusted
  if (trusted.empty || !trusted.has(typeof socketPeer === "string" ? socketPeer : socketPeer())) return undefined
  const chain = headers.get("x-forwarded-for")
  if (chain !== undefined) {
    const hops = chain.split(",")
    for (let i = hops.length - 1; i >= 0; i--) {
      const address = addressOf(hops[i]!)
      if (address === undefined) return undefined
      if (!trusted.has(address)) return { host: address, port: 0 }
    }
  }
  const real = headers.get("x-real-ip")
  const address = real === undefined ? undefined : addressOf(real)
  return address === undefined ? undefined : { host: address, port: 0 }
}
