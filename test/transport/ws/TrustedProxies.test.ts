import { assert, describe, it } from "@effect/vitest"
import * as TrustedProxies from "../../../src/transport/ws/TrustedProxies.ts"

const headers = (entries: Record<string, string>) => new Map(Object.entries(entries))

describe("trusted proxies", () => {
  const trusted = TrustedProxies.make(["127.0.0.1", "10.0.0.0/8", "::1"])

  it("an untrusted peer's headers are ignored, whatever they say", () => {
    assert.isUndefined(TrustedProxies.forwardedPeer(trusted, "192.0.2.1", headers({ "x-forwarded-for": "203.0.113.9" })))
    assert.isUndefined(TrustedProxies.forwardedPeer(TrustedProxies.make([]), "127.0.0.1", headers({ "x-real-ip": "203.0.113.9" })))
  })

  it("a trusted peer: the right-most X-Forwarded-For hop that is not a trusted proxy", () => {
    const peer = (xff: string) => TrustedProxies.forwardedPeer(trusted, "127.0.0.1", headers({ "x-forwarded-for": xff }))
    assert.deepStrictEqual(peer("203.0.113.9"), { host: "203.0.113.9", port: 0 })
    // the client may prepend anything; the hops our proxies appended are skipped
    assert.deepStrictEqual(peer("1.1.1.1, 203.0.113.9, 10.1.2.3"), { host: "203.0.113.9", port: 0 })
    assert.deepStrictEqual(peer("[2001:db8::5]:4711"), { host: "2001:db8::5", port: 0 })
    assert.deepStrictEqual(peer("198.51.100.7:1234"), { host: "198.51.100.7", port: 0 })
    assert.isUndefined(peer("garbage"))
  })

  it("X-Real-IP when there is no X-Forwarded-For; IPv4-mapped peers match IPv4 ranges", () => {
    assert.deepStrictEqual(
      TrustedProxies.forwardedPeer(trusted, "::ffff:10.9.9.9", headers({ "x-real-ip": "203.0.113.10" })),
      { host: "203.0.113.10", port: 0 }
    )
    assert.deepStrictEqual(
      TrustedProxies.forwardedPeer(trusted, "::1", headers({ "x-real-ip": "2001:db8::1" })),
      { host: "2001:db8::1", port: 0 }
    )
  })

  it("entries are checked", () => {
    assert.isUndefined(TrustedProxies.entryProblem("10.0.0.0/8"))
    assert.isUndefined(TrustedProxies.entryProblem("2001:db8::/32"))
    assert.include(TrustedProxies.entryProblem("10.0.0.0/40")!, "0 to 32")
    assert.include(TrustedProxies.entryProblem("proxy.local")!, "expected an IP address or CIDR range")
    assert.include(TrustedProxies.entryProblem("1.2.3.4/8/9")!, "expected an IP address")
  })
})
