/**
 * What one `allowed_targets` check costs on the per-connection path: nanoseconds per `allows` call for a
 * list of eight patterns, per kind of target (IPv4, IPv6, IPv4-mapped, host name; allowed and refused),
 * against the cost of dialing it. Run: `npx tsx scripts/allowed-targets-cost.ts` (Node) or
 * `npx bun scripts/allowed-targets-cost.ts` (Bun, the shipped runtime).
 */
import * as Either from "effect/Either"
import * as AllowedTargets from "../src/client/AllowedTargets.ts"

const list = [
  "127.0.0.1:8080", "db.lan:5432", "*:443", "10.1.2.3:8000-8100",
  "192.168.0.0/16:22", "[::1]:22", "[fd00::/8]:*", "web.internal:80"
]
const compiled = AllowedTargets.compile(list)
if (Either.isLeft(compiled)) throw new Error(compiled.left)
const { allows } = compiled.right

const targets: ReadonlyArray<readonly [string, string, number]> = [
  ["IPv4, allowed by the 5th pattern", "192.168.7.9", 22],
  ["IPv4, refused (all 8 tried)", "172.16.0.1", 22],
  ["IPv6, allowed by the 7th", "fd12:3456:789a::1", 9000],
  ["IPv6, refused", "2001:db8::1", 9000],
  ["IPv4-mapped IPv6, refused", "::ffff:172.16.0.1", 22],
  ["host name, allowed by the 8th", "Web.Internal", 80],
  ["host name, refused", "evil.example", 80]
]

const N = 1_000_000
let sink = 0
for (const [label, host, port] of targets) {
  for (let i = 0; i < 100_000; i++) sink += allows(host, port) ? 1 : 0 // warm-up
  const start = process.hrtime.bigint()
  for (let i = 0; i < N; i++) sink += allows(host, port) ? 1 : 0
  const ns = Number(process.hrtime.bigint() - start) / N
  console.log(`${label.padEnd(36)} ${ns.toFixed(0).padStart(5)} ns per check`)
}
if (sink < 0) console.log(sink)
