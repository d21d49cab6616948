import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import type { PortMapping as Mapping } from "../../src/config/Config.ts"
import * as PortMapping from "../../src/config/PortMapping.ts"

const ok = <A>(e: Either.Either<A, string>): A => {
  if (Either.isLeft(e)) assert.fail(`expected Right, got Left: ${e.left}`)
  return e.right
}

const err = <A>(e: Either.Either<A, string>): string => {
  if (Either.isRight(e)) assert.fail(`expected Left, got Right: ${JSON.stringify(e.right)}`)
  return e.left
}

const mapping = (
  source: string,
  bindHost: string,
  from: number,
  to: number,
  targetHost: string,
  targetPort: number | undefined
): Mapping => ({ source, bindHost, from, to, targetHost, targetPort })

describe("parseHostPort", () => {
  it("parses IPv4, bracketed IPv6 and host names", () => {
    assert.deepStrictEqual(ok(PortMapping.parseHostPort("0.0.0.0:3080")), { host: "0.0.0.0", port: 3080 })
    assert.deepStrictEqual(ok(PortMapping.parseHostPort("[::1]:443")), { host: "::1", port: 443 })
    assert.deepStrictEqual(ok(PortMapping.parseHostPort("[2001:db8::7]:65535")), { host: "2001:db8::7", port: 65535 })
    assert.deepStrictEqual(ok(PortMapping.parseHostPort("tunnel.example.com:1")), { host: "tunnel.example.com", port: 1 })
    assert.deepStrictEqual(ok(PortMapping.parseHostPort("  localhost:80  ")), { host: "localhost", port: 80 })
  })

  it("fills an omitted host only when a default is given", () => {
    assert.deepStrictEqual(ok(PortMapping.parseHostPort(":3080", "bind_addr", "0.0.0.0")), { host: "0.0.0.0", port: 3080 })
    assert.include(err(PortMapping.parseHostPort(":3080", "remote_addr")), "has no host")
  })

  it("rejects bad ports and hosts with the reason", () => {
    assert.strictEqual(err(PortMapping.parseHostPort("1.2.3.4:70000")), "port 70000 is outside 1-65535")
    assert.strictEqual(err(PortMapping.parseHostPort("1.2.3.4:0")), "port 0 is outside 1-65535")
    assert.include(err(PortMapping.parseHostPort("1.2.3.4")), "has no port")
    assert.include(err(PortMapping.parseHostPort("1.2.3.4:http")), `"http" is not a number`)
    assert.include(err(PortMapping.parseHostPort("300.1.1.1:80")), "not a valid IPv4 address")
    assert.include(err(PortMapping.parseHostPort("::1:80")), "IPv6 addresses need brackets")
    assert.include(err(PortMapping.parseHostPort("[::1:80")), `missing "]"`)
    assert.include(err(PortMapping.parseHostPort("[zz::1]:80")), "not a valid IPv6 address")
    assert.include(err(PortMapping.parseHostPort("bad_host!:80")), "not a valid host name")
    assert.include(err(PortMapping.parseHostPort("")), "empty")
    assert.include(err(PortMapping.parseHostPort("x", "remote_addr")), "remote_addr")
  })
})

describe("parsePortMapping: every form of the grammar", () => {
  const cases: ReadonlyArray<readonly [string, Mapping]> = [
    ["4000", mapping("4000", "0.0.0.0", 4000, 4000, "127.0.0.1", undefined)],
    ["4000=5201", mapping("4000=5201", "0.0.0.0", 4000, 4000, "127.0.0.1", 5201)],
    ["4000=10.0.0.5:5201", mapping("4000=10.0.0.5:5201", "0.0.0.0", 4000, 4000, "10.0.0.5", 5201)],
    ["4000=host.lan:5201", mapping("4000=host.lan:5201", "0.0.0.0", 4000, 4000, "host.lan", 5201)],
    ["127.0.0.2:443=5201", mapping("127.0.0.2:443=5201", "127.0.0.2", 443, 443, "127.0.0.1", 5201)],
    ["[::1]:443=[::1]:5201", mapping("[::1]:443=[::1]:5201", "::1", 443, 443, "::1", 5201)],
    ["443-600", mapping("443-600", "0.0.0.0", 443, 600, "127.0.0.1", undefined)],
    ["443-600=5201", mapping("443-600=5201", "0.0.0.0", 443, 600, "127.0.0.1", 5201)],
    ["443-600:5201", mapping("443-600:5201", "0.0.0.0", 443, 600, "127.0.0.1", 5201)],
    ["443-600=1.1.1.1:5201", mapping("443-600=1.1.1.1:5201", "0.0.0.0", 443, 600, "1.1.1.1", 5201)],
    ["127.0.0.2:443-600=5201", mapping("127.0.0.2:443-600=5201", "127.0.0.2", 443, 600, "127.0.0.1", 5201)],
    // extensions: the ':' form after a bind address, an IP target without a port (same port), IPv6 ranges
    ["127.0.0.2:443-600:5201", mapping("127.0.0.2:443-600:5201", "127.0.0.2", 443, 600, "127.0.0.1", 5201)],
    ["443-600=10.0.0.5", mapping("443-600=10.0.0.5", "0.0.0.0", 443, 600, "10.0.0.5", undefined)],
    ["[::]:80-81=[fd00::2]", mapping("[::]:80-81=[fd00::2]", "::", 80, 81, "fd00::2", undefined)],
    ["443-443", mapping("443-443", "0.0.0.0", 443, 443, "127.0.0.1", undefined)],
    ["1-65535", mapping("1-65535", "0.0.0.0", 1, 65535, "127.0.0.1", undefined)]
  ]
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      assert.deepStrictEqual(ok(PortMapping.parsePortMapping(text)), expected)
    })
  }

  it("trims whitespace around the entry and its parts", () => {
    assert.deepStrictEqual(
      ok(PortMapping.parsePortMapping("  4000 = 5201 \t")),
      mapping("4000 = 5201", "0.0.0.0", 4000, 4000, "127.0.0.1", 5201)
    )
  })
})

describe("parsePortMapping: rejections", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["70000", "port 70000 is outside 1-65535"],
    ["4000=70000", "port 70000 is outside 1-65535"],
    ["0", "port 0 is outside 1-65535"],
    ["443-70000", "port 70000 is outside 1-65535"],
    ["4000=10.0.0.5:99999", "port 99999 is outside 1-65535"],
    ["600-443", "reversed range 600-443: the first port must not be greater than the last"],
    ["4000=5201=6000", `more than one "=" in "4000=5201=6000"`],
    ["", "empty port mapping"],
    ["   ", "empty port mapping"],
    ["abc", `"abc" is not a port or a port range`],
    ["=5201", `missing listen port before "=" in "=5201"`],
    ["4000=", `missing target after "="`],
    ["4000=host.lan", `target "host.lan" is not a port, an IP address or host:port`],
    ["999.0.0.1:443=5201", `"999.0.0.1" is not a valid IPv4 address`],
    ["::1:443=5201", "IPv6 addresses need brackets"],
    ["4000:5201", `"4000:5201" looks like two ports`],
    ["4000=[::1", `missing "]" after the IPv6 address`],
    ["4000=bad host:80", `"bad host" is not a valid host name or IP address`]
  ]
  for (const [text, reason] of cases) {
    it(`${JSON.stringify(text)} → ${reason}`, () => {
      assert.include(err(PortMapping.parsePortMapping(text)), reason)
    })
  }

  it("reports an out-of-range port with exactly the documented message", () => {
    assert.strictEqual(err(PortMapping.parsePortMapping("4000=70000")), "port 70000 is outside 1-65535")
  })
})

describe("validateMappings", () => {
  const parse = (...texts: Array<string>) => texts.map((t) => ok(PortMapping.parsePortMapping(t)))

  it("accepts distinct listen addresses", () => {
    assert.deepStrictEqual(PortMapping.validateMappings(parse("4000", "4001=5201", "127.0.0.2:5000", "127.0.0.3:5000", "[::1]:5000")), [])
  })

  it("reports a duplicate port on the later entry", () => {
    assert.deepStrictEqual(PortMapping.validateMappings(parse("4000", "4001", "4000=5201")), [
      { index: 2, message: `duplicate listen address: 0.0.0.0:4000 is already used by ports[0] ("4000")` }
    ])
  })

  it("reports overlapping ranges with the overlap", () => {
    const problems = PortMapping.validateMappings(parse("443-600", "590-700"))
    assert.strictEqual(problems.length, 1)
    assert.strictEqual(problems[0]!.index, 1)
    assert.include(problems[0]!.message, "0.0.0.0:590-600")
  })

  it("treats 0.0.0.0 as overlapping any IPv4 bind host, and :: as overlapping everything", () => {
    assert.strictEqual(PortMapping.validateMappings(parse("4000", "127.0.0.2:4000")).length, 1)
    assert.strictEqual(PortMapping.validateMappings(parse("127.0.0.2:4000", "4000")).length, 1)
    assert.strictEqual(PortMapping.validateMappings(parse("4000", "[::1]:4000")).length, 0)
    assert.strictEqual(PortMapping.validateMappings(parse("[::]:4000", "127.0.0.2:4000")).length, 1)
    assert.strictEqual(PortMapping.validateMappings(parse("[::1]:4000", "[::]:3990-4010")).length, 1)
    assert.strictEqual(PortMapping.validateMappings(parse("127.0.0.2:4000", "127.0.0.3:4000")).length, 0)
  })

  it("validateIndexedMappings keeps the original positions", () => {
    const [a, b] = parse("4000", "4000")
    assert.deepStrictEqual(PortMapping.validateIndexedMappings([[0, a!], [5, b!]]).map((p) => p.index), [5])
  })
})

describe("expandMapping", () => {
  it("gives one entry per listen port, keeping the port when there is no target port", () => {
    assert.deepStrictEqual(PortMapping.expandMapping(ok(PortMapping.parsePortMapping("127.0.0.2:80-82"))), [
      { bindHost: "127.0.0.2", port: 80, targetHost: "127.0.0.1", targetPort: 80 },
      { bindHost: "127.0.0.2", port: 81, targetHost: "127.0.0.1", targetPort: 81 },
      { bindHost: "127.0.0.2", port: 82, targetHost: "127.0.0.1", targetPort: 82 }
    ])
  })

  it("sends every port of a range to one target", () => {
    const all = PortMapping.expandMapping(ok(PortMapping.parsePortMapping("443-600=1.1.1.1:5201")))
    assert.strictEqual(all.length, 158)
    assert.isTrue(all.every((e) => e.targetHost === "1.1.1.1" && e.targetPort === 5201))
    assert.deepStrictEqual(all.map((e) => e.port).slice(0, 2), [443, 444])
  })
})

describe("parseForwarder", () => {
  it("parses SERVER_PORT=HOST:PORT", () => {
    assert.deepStrictEqual(ok(PortMapping.parseForwarder("4000=10.0.0.5:5201")), [4000, { host: "10.0.0.5", port: 5201 }])
    assert.deepStrictEqual(ok(PortMapping.parseForwarder(" 4001=127.0.0.1:9090 ")), [4001, { host: "127.0.0.1", port: 9090 }])
    assert.deepStrictEqual(ok(PortMapping.parseForwarder("4002=[::1]:22")), [4002, { host: "::1", port: 22 }])
    assert.deepStrictEqual(ok(PortMapping.parseForwarder("4003=db.lan:5432")), [4003, { host: "db.lan", port: 5432 }])
    assert.deepStrictEqual(ok(PortMapping.parseForwarder("4004=5201")), [4004, { host: "127.0.0.1", port: 5201 }])
    assert.deepStrictEqual(ok(PortMapping.parseForwarder("4005=10.0.0.9")), [4005, { host: "10.0.0.9", port: 4005 }])
  })

  it("rejects bad entries with the reason", () => {
    assert.include(err(PortMapping.parseForwarder("4000=IP:PORT")), `port "PORT" is not a number`)
    assert.include(err(PortMapping.parseForwarder("4000")), `missing "="`)
    assert.include(err(PortMapping.parseForwarder("4000=1=2")), `more than one "="`)
    assert.strictEqual(err(PortMapping.parseForwarder("70000=1.1.1.1:80")), "port 70000 is outside 1-65535")
    assert.include(err(PortMapping.parseForwarder("400-500=1.1.1.1:80")), "not a range")
    assert.include(err(PortMapping.parseForwarder("")), "empty")
  })
})

describe("properties", () => {
  const port = FastCheck.integer({ min: 1, max: 65535 })
  const ipv4 = FastCheck.ipV4()
  const host = FastCheck.oneof(
    ipv4,
    FastCheck.ipV6(),
    FastCheck.domain().filter((d) => !/^[\d.]+$/.test(d))
  )
  const range = FastCheck.tuple(port, port).map(([a, b]) => (a <= b ? [a, b] as const : [b, a] as const))
  const target = FastCheck.oneof(
    FastCheck.constant(undefined),
    port.map((p) => ({ host: "127.0.0.1", port: p as number | undefined })),
    FastCheck.record({ host, port: port as FastCheck.Arbitrary<number | undefined> }),
    FastCheck.oneof(ipv4, FastCheck.ipV6()).map((h) => ({ host: h, port: undefined as number | undefined }))
  )

  it.prop(
    "a formatted (bind?, from, to, target?) parses back to the same mapping",
    { bind: FastCheck.option(FastCheck.oneof(ipv4, FastCheck.ipV6()), { nil: undefined }), range, target },
    ({ bind, range: [from, to], target }) => {
      const expected = {
        bindHost: bind ?? "0.0.0.0",
        from,
        to,
        targetHost: target?.host ?? "127.0.0.1",
        targetPort: target?.port
      }
      const text = PortMapping.formatPortMapping(expected)
      const parsed = ok(PortMapping.parsePortMapping(text))
      assert.deepStrictEqual(parsed, { source: text, ...expected })
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "the Go tool's 'from-to:port' form equals 'from-to=port'",
    { range, p: port },
    ({ range: [from, to], p }) => {
      const colon = ok(PortMapping.parsePortMapping(`${from}-${to}:${p}`))
      const equals = ok(PortMapping.parsePortMapping(`${from}-${to}=${p}`))
      assert.deepStrictEqual({ ...colon, source: "" }, { ...equals, source: "" })
    }
  )

  it.prop(
    "any port outside 1-65535 is refused with the documented message",
    { p: FastCheck.oneof(FastCheck.integer({ min: 65536, max: 10_000_000 }), FastCheck.constant(0)) },
    ({ p }) => {
      assert.strictEqual(err(PortMapping.parsePortMapping(`4000=${p}`)), `port ${p} is outside 1-65535`)
      assert.strictEqual(err(PortMapping.parsePortMapping(`${p}`)), `port ${p} is outside 1-65535`)
    }
  )

  it.prop(
    "random strings never throw",
    {
      s: FastCheck.oneof(
        FastCheck.string(),
        FastCheck.string({ unit: FastCheck.constantFrom(..."0123456789-:=[].abf ") }),
        FastCheck.fullUnicodeString()
      )
    },
    ({ s }) => {
      const parsers: ReadonlyArray<(s: string) => Either.Either<unknown, string>> = [
        PortMapping.parsePortMapping,
        PortMapping.parseForwarder,
        PortMapping.parseHostPort
      ]
      for (const parse of parsers) {
        const result = parse(s)
        assert.isTrue(Either.isEither(result))
        if (Either.isLeft(result)) assert.isAbove(result.left.length, 0)
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "expandMapping yields to-from+1 entries on the mapping's ports",
    { range, target },
    ({ range: [from, to], target }) => {
      if (to - from > 2000) return
      const m = { source: "", bindHost: "0.0.0.0", from, to, targetHost: target?.host ?? "127.0.0.1", targetPort: target?.port }
      const all = PortMapping.expandMapping(m)
      assert.strictEqual(all.length, to - from + 1)
      all.forEach((e, i) => {
        assert.strictEqual(e.port, from + i)
        assert.strictEqual(e.targetPort, target?.port ?? e.port)
      })
    }
  )
})
