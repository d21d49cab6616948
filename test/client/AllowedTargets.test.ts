/**
 * The `allowed_targets` matcher: the pattern grammar and its errors, and matching against models
 * (address bits, port ranges, names) with fast-check.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import * as net from "node:net"
import * as AllowedTargets from "../../src/client/AllowedTargets.ts"

const runs = { numRuns: Number(process.env.FUZZ_RUNS ?? 500) }

const compile = (patterns: ReadonlyArray<string>) => {
  const c = AllowedTargets.compile(patterns)
  if (Either.isLeft(c)) throw new Error(c.left)
  return c.right
}
const problem = (entry: string) => AllowedTargets.entryProblem(entry)

/** An address's bits as a string of 0s and 1s: the model prefixes are compared on. */
const v4Bits = (a: ReadonlyArray<number>) => a.map((o) => o.toString(2).padStart(8, "0")).join("")
const v6Bits = (g: ReadonlyArray<number>) => g.map((x) => x.toString(2).padStart(16, "0")).join("")
const v4Text = (a: ReadonlyArray<number>) => a.join(".")
/** Full form, and the form the URL parser writes (compressed, lower case): the matcher must not care. */
const v6Full = (g: ReadonlyArray<number>) => g.map((x) => x.toString(16)).join(":")
const v6Short = (g: ReadonlyArray<number>) => new URL(`http://[${v6Full(g)}]/`).hostname.slice(1, -1)

const octets = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
// mostly zeros, so "::" compression and short prefixes are exercised
const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  // the IPv4-mapped range is matched as IPv4, checked on its own below
  .filter((g) => !(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff))
const port = fc.integer({ min: 1, max: 65535 })

describe("allowed_targets patterns", () => {
  it("match host:port, host:*, *:port and port ranges", () => {
    const allowed = compile(["127.0.0.1:8080", "db.lan:*", "*:443", "10.1.2.3:8000-8100"])
    assert.isTrue(allowed.allows("127.0.0.1", 8080))
    assert.isFalse(allowed.allows("127.0.0.1", 8081))
    assert.isTrue(allowed.allows("db.lan", 5432))
    assert.isTrue(allowed.allows("anything.example", 443))
    assert.isTrue(allowed.allows("192.0.2.1", 443))
    assert.isTrue(allowed.allows("10.1.2.3", 8000))
    assert.isTrue(allowed.allows("10.1.2.3", 8100))
    assert.isFalse(allowed.allows("10.1.2.3", 8101))
    assert.isFalse(allowed.allows("10.1.2.4", 8050))
  })

  it("match CIDR ranges, bracketed IPv6 addresses and ranges", () => {
    const allowed = compile(["10.0.0.0/8:*", "[::1]:22", "[fd00::/8]:*", "192.168.1.77/24:80", "[2001:db8::]/32:443"])
    assert.isTrue(allowed.allows("2001:db8:ffff::1", 443))
    assert.isFalse(allowed.allows("2001:db9::1", 443))
    assert.isTrue(allowed.allows("10.255.0.1", 1))
    assert.isFalse(allowed.allows("11.0.0.1", 1))
    assert.isTrue(allowed.allows("::1", 22))
    assert.isFalse(allowed.allows("::1", 23))
    assert.isTrue(allowed.allows("fd12:3456::9", 9999))
    assert.isFalse(allowed.allows("fe80::1", 9999))
    // host bits of a range are ignored, as Go's ParseCIDR does
    assert.isTrue(allowed.allows("192.168.1.1", 80))
  })

  it("match host names case-insensitively, as sent, never their addresses", () => {
    const allowed = compile(["Web.Internal:80", "localhost.:22"])
    assert.isTrue(allowed.allows("web.internal", 80))
    assert.isTrue(allowed.allows("WEB.INTERNAL.", 80))
    assert.isTrue(allowed.allows("LocalHost", 22))
    // not resolved: an address is not a name, and a name is not in an address range
    assert.isFalse(allowed.allows("127.0.0.1", 22))
    assert.isFalse(compile(["127.0.0.0/8:*"]).allows("localhost", 22))
    assert.isFalse(allowed.allows("web.internal.evil", 80))
  })

  it("an IPv4-mapped IPv6 target is matched as the IPv4 address it dials", () => {
    const allowed = compile(["10.0.0.0/8:*"])
    assert.isTrue(allowed.allows("::ffff:10.1.2.3", 80))
    assert.isTrue(allowed.allows("::ffff:a01:203", 80))
    assert.isFalse(allowed.allows("::ffff:127.0.0.1", 80))
    assert.isFalse(compile(["[::]/0:*"]).allows("::ffff:127.0.0.1", 80))
    assert.isFalse(compile(["[::/0]:*"]).allows("::ffff:127.0.0.1", 80))
    assert.isTrue(compile(["[::ffff:127.0.0.0/104]:*"]).allows("127.0.0.1", 80))
  })

  it("an empty list allows nothing; `*:*` everything", () => {
    assert.isFalse(compile([]).allows("127.0.0.1", 80))
    assert.isTrue(compile(["*:*"]).allows("127.0.0.1", 80))
    assert.isTrue(compile(["*:*"]).allows("::1", 1))
  })

  it("bad entries say what is wrong, naming the entry", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["", "an empty pattern"],
      ["10.0.0.5", `"10.0.0.5": missing ":PORT"; write "10.0.0.5:*" for every port`],
      ["::1:22", "IPv6 addresses need brackets"],
      ["fd00::/8:*", "IPv6 addresses need brackets"],
      ["[::1]", `"[::1]": expected ":PORT" after "]"`],
      ["[::1:22", `missing "]"`],
      ["[10.0.0.1]:22", "in brackets is not an IPv6 address"],
      ["10.0.0.0/33:*", `"10.0.0.0/33:*": the prefix length "33" must be 0 to 32`],
      ["[fd00::/129]:*", "must be 0 to 128"],
      ["[fd00::]/:*", `the prefix length "" must be 0 to 128`],
      ["[fd00::]8:*", `expected ":PORT" after "]"`],
      ["10.0.0.256:80", "is not an IPv4 address"],
      ["host:0", "ports are 1 to 65535"],
      ["host:65536", "ports are 1 to 65535"],
      ["host:9000-8000", "the range 9000-8000 is backwards"],
      ["host:http", `the port "http" is not a port`],
      [":80", `missing the host; write "*:80"`],
      ["*.example.com:443", `"*" stands for every host on its own`],
      ["bad_name!:80", "is not a host name"],
      ["10.0.0.0/8/8:*", `more than one "/"`],
      ["example.com/8:80", "is not an IPv4 address"]
    ]
    for (const [entry, message] of cases) {
      const p = problem(entry)
      assert.isDefined(p, entry)
      assert.include(p!, message, entry)
    }
    assert.isUndefined(problem("  127.0.0.1:80  "))
  })

  it("compile names the bad entry's index", () => {
    const c = AllowedTargets.compile(["127.0.0.1:80", "nope"])
    assert.isTrue(Either.isLeft(c) && c.left.startsWith(`allowed_targets[1]: "nope"`))
  })
})

describe("allowed_targets matching against models (fast-check)", () => {
  it("IPv4 a.b.c.d/n matches exactly the addresses sharing its first n bits", () =>
    fc.assert(
      fc.property(octets, fc.integer({ min: 0, max: 32 }), octets, port, (base, bits, target, p) => {
        const allowed = compile([`${v4Text(base)}/${bits}:*`])
        const expected = v4Bits(base).slice(0, bits) === v4Bits(target).slice(0, bits)
        return allowed.allows(v4Text(target), p) === expected &&
          // the same address written as IPv4-mapped IPv6 is judged the same
          allowed.allows(`::ffff:${v4Text(target)}`, p) === expected
      }),
      runs
    ))

  it("IPv6 [x/n] matches exactly the addresses sharing its first n bits, however either is written", () =>
    fc.assert(
      fc.property(groups, fc.integer({ min: 0, max: 128 }), groups, fc.boolean(), fc.boolean(), (base, bits, target, shortBase, shortTarget) => {
        const b = shortBase ? v6Short(base) : v6Full(base)
        const t = shortTarget ? v6Short(target) : v6Full(target)
        const expected = v6Bits(base).slice(0, bits) === v6Bits(target).slice(0, bits)
        return compile([`[${b}/${bits}]:*`]).allows(t, 80) === expected
      }),
      runs
    ))

  it("an address pattern matches itself; a nearby other address only within the prefix", () =>
    fc.assert(
      fc.property(groups, fc.integer({ min: 0, max: 127 }), (g, bit) => {
        const flipped = [...g]
        flipped[bit >> 4] = flipped[bit >> 4]! ^ (1 << (15 - (bit & 15)))
        const exact = compile([`[${v6Short(g)}]:1`])
        return exact.allows(v6Full(g), 1) && !exact.allows(v6Full(flipped), 1) &&
          compile([`[${v6Full(g)}/${bit}]:1`]).allows(v6Short(flipped), 1)
      }),
      runs
    ))

  it("a port range matches exactly the ports inside it", () =>
    fc.assert(
      fc.property(port, port, port, (a, b, p) => {
        const [from, to] = a <= b ? [a, b] : [b, a]
        return compile([`example.com:${from}-${to}`]).allows("example.com", p) === (p >= from && p <= to)
      }),
      runs
    ))

  it("a host name matches itself in any case, with or without a trailing dot, and no other name", () => {
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/)
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."))
      .filter((n) => !/^[\d.]+$/.test(n))
    const recase = (s: string, mask: ReadonlyArray<boolean>) =>
      Array.from(s, (c, i) => (mask[i % mask.length] ? c.toUpperCase() : c)).join("")
    fc.assert(
      fc.property(name, name, fc.array(fc.boolean(), { minLength: 1 }), fc.boolean(), (n, other, mask, dot) => {
        const allowed = compile([`${n}:22`])
        return allowed.allows(recase(n, mask) + (dot ? "." : ""), 22) && allowed.allows(n, 23) === false &&
          (other === n || !allowed.allows(other, 22))
      }),
      runs
    )
  })

  it("the matcher's own address parsers agree with node:net on what is an address", () => {
    // every address, but not every name: a target matches exactly when node:net calls it an IP
    const everyAddress = compile(["0.0.0.0/0:*", "[::/0]:*"])
    const ipish = fc.oneof(
      fc.stringMatching(/^[0-9a-fA-F:.]{0,40}$/),
      fc.tuple(groups, fc.integer({ min: 0, max: 8 })).map(([g, cut]) => v6Short(g).split(":").slice(0, cut).join(":")),
      octets.map((o) => o.join(".")).map((t) => `::ffff:${t}`),
      fc.array(fc.stringMatching(/^[0-9]{1,4}$/), { minLength: 1, maxLength: 5 }).map((p) => p.join("."))
    )
    fc.assert(
      fc.property(ipish, (t) => everyAddress.allows(t, 1) === (net.isIP(t) !== 0)),
      { numRuns: runs.numRuns * 10 }
    )
  })

  it("any text is either a pattern or a one-line reason, never a throw", () =>
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[\[\]0-9a-f:./*-]{0,24}$/)), (text) => {
        const parsed = AllowedTargets.parsePattern(text)
        return Either.isRight(parsed) || (parsed.left.length > 0 && !parsed.left.includes("\n"))
      }),
      runs
    ))
})
