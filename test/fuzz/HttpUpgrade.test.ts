/**
 * The WebSocket opening handshake, fuzzed (issue 13, part C): the HTTP head reader
 * (src/transport/ws/HttpHead.ts) and both sides of the upgrade (src/transport/ws/Upgrade.ts) on
 * in-memory connections, fed requests and answers cut into reads anywhere:
 * - `parse` never throws on any text;
 * - `read` on valid, mutated and random heads: one verdict (a head, or TooLarge / Malformed / Closed);
 *   the bytes after a head stay in the connection for the next reader; a head over 16 KiB is refused as
 *   soon as it passes the cap, so a peer cannot make the server buffer more;
 * - the server side against a model of the rules (method, path, Upgrade and Connection tokens, version,
 *   key, size): each defect gets its status (405, 404, 426, 400, 431) with a well-formed HTTP answer
 *   and the connection closed; a proper upgrade gets 101 with the RFC 6455 accept value; mutated
 *   requests get one of the two, never a throw, never a hang once the peer is gone;
 * - the client side on mutated answers: it proceeds only on a 101 carrying the right accept value.
 *
 * Case counts: test/helpers/Fuzz.ts (FUZZ_RUNS; `npm run fuzz` runs at least 100,000 on this decoder).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import * as MemoryConn from "../../src/net/MemoryConn.ts"
import * as HttpHead from "../../src/transport/ws/HttpHead.ts"
import { make as trustNobody } from "../../src/transport/ws/TrustedProxies.ts"
import * as Upgrade from "../../src/transport/ws/Upgrade.ts"
import { arbMutation, arbSplit, Collector, mutate, params, settle, split, tally, timeout, yielding } from "../helpers/Fuzz.ts"

const count = tally("http-upgrade")

/** `Sec-WebSocket-Accept` as RFC 6455 §4.2.2 defines it, computed here independently. */
const acceptOf = (key: string) => createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")

const PATH = "/tunnel"

/** What is wrong with a generated request, if anything: each defect has its refusal. */
type Defect = "none" | "method" | "path" | "upgrade" | "connection" | "version" | "key" | "tooLarge"
const statusFor: Record<Defect, number> = {
  none: 101,
  method: 405,
  path: 404,
  upgrade: 426,
  connection: 426,
  version: 426,
  key: 400,
  tooLarge: 431
}

const arbCase = (s: string) => fc.constantFrom(s, s.toLowerCase(), s.toUpperCase())

const arbRequest = fc.record({
  defect: fc.oneof({ weight: 6, arbitrary: fc.constant("none" as Defect) }, {
    weight: 4,
    arbitrary: fc.constantFrom<Defect>("method", "path", "upgrade", "connection", "version", "key", "tooLarge")
  }),
  key: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => Buffer.from(u).toString("base64")),
  query: fc.oneof(fc.constant(""), fc.constant("?x=1"), fc.string({ maxLength: 8 }).map((q) => `?${encodeURIComponent(q)}`)),
  names: fc.record({ upgrade: arbCase("Upgrade"), connection: arbCase("Connection"), version: arbCase("Sec-WebSocket-Version"), key: arbCase("Sec-WebSocket-Key") }),
  connectionValue: fc.constantFrom("Upgrade", "upgrade", "keep-alive, Upgrade", "Upgrade, keep-alive"),
  extra: fc.array(fc.tuple(fc.constantFrom("User-Agent", "Accept", "X-Forwarded-For", "Cookie", "Origin"), fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 4 }),
  spaces: fc.constantFrom("", " ", "  ", "\t"),
  trailing: fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u))
})

type Request = typeof arbRequest extends fc.Arbitrary<infer A> ? A : never

/** A request head (and the bytes sent right behind it) as a client would write it, with its defect. */
const requestBytes = (r: Request): Buffer => {
  const method = r.defect === "method" ? "POST" : "GET"
  const path = r.defect === "path" ? "/elsewhere" : PATH
  const s = r.spaces
  const lines = [
    `${method} ${path}${r.query} HTTP/1.1`,
    `Host:${s}tunnel.example`,
    ...(r.defect === "upgrade" ? [] : [`${r.names.upgrade}:${s}websocket`]),
    `${r.names.connection}:${s}${r.defect === "connection" ? "keep-alive" : r.connectionValue}`,
    `${r.names.version}:${s}${r.defect === "version" ? "8" : "13"}`,
    `${r.names.key}:${s}${r.defect === "key" ? "c2hvcnQ=" : r.key}`,
    ...r.extra.map(([n, v]) => `${n}:${s}${v}`),
    ...(r.defect === "tooLarge" ? Array.from({ length: 500 }, (_, i) => `X-Padding-${i}: ${"a".repeat(30)}`) : [])
  ]
  return Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), r.trailing])
}

/** A request's head text, without the blank line (what `parse` is given). */
const headText = (r: Request): string => {
  const text = requestBytes(r).toString("latin1")
  return text.slice(0, text.indexOf("\r\n\r\n"))
}

/** Parses an HTTP answer written by the server; asserts it is well-formed. */
const answerOf = (bytes: Buffer) => {
  const text = bytes.toString("latin1")
  const end = text.indexOf("\r\n\r\n")
  assert.isAtLeast(end, 0, `a whole HTTP head: ${JSON.stringify(text.slice(0, 80))}`)
  const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n")
  const m = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+$/.exec(statusLine!)
  assert.isNotNull(m, `status line ${JSON.stringify(statusLine)}`)
  const headers = new Map(headerLines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]))
  const body = text.slice(end + 4)
  if (headers.has("content-length")) assert.strictEqual(Number(headers.get("content-length")), body.length, "Content-Length is the body's")
  return { status: Number(m![1]), headers, body }
}

describe("fuzz: the HTTP head reader", () => {
  it("parse never throws on any text", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), arbRequest.map(headText)), fc.array(arbMutation, { maxLength: 3 }), yielding((text, edits) => {
        const head = HttpHead.parse(mutate(Buffer.from(text, "latin1"), edits).toString("latin1"))
        if (head !== undefined) {
          assert.isString(head.first)
          for (const [name] of head.headers) assert.strictEqual(name, name.toLowerCase())
        }
        count("http head", `parse: ${head === undefined ? "not HTTP" : "head"}`)
      })),
      params(300, 0.5)
    )
  }, timeout())

  it("read: one verdict; the bytes behind a head stay for the next reader; a head over 16 KiB refused at the cap", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbRequest,
        fc.array(arbMutation, { maxLength: 5 }),
        fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) }),
        arbSplit,
        async (r, edits, random, how) => {
          const valid = requestBytes(r)
          const bytes = random !== undefined ? Buffer.from(random) : mutate(valid, edits)
          const [conn, peer] = MemoryConn.pair("peer")
          const verdicts: Array<{ error: HttpHead.HeadError | undefined; head: HttpHead.Head | undefined; fedBefore: number }> = []
          let fed = 0
          let fedBefore = 0
          HttpHead.read(conn, (error, head) => verdicts.push({ error, head, fedBefore }))
          for (const chunk of split(bytes, how)) {
            fedBefore = fed
            peer.write(chunk)
            fed += chunk.length
            if (verdicts.length > 0) break
          }
          await settle()
          peer.end()
          await settle()
          assert.strictEqual(verdicts.length, 1, "exactly one verdict, at the latest when the peer goes")
          const v = verdicts[0]!
          const headEnd = bytes.indexOf("\r\n\r\n")
          if (v.error !== undefined) {
            assert.include(["TooLarge", "Malformed", "Closed"], v.error.reason)
            // refused in the read that crossed the cap: never more than MAX_HEAD bytes held before it
            if (v.error.reason === "TooLarge") assert.isAtMost(v.fedBefore, HttpHead.MAX_HEAD, "refused at the cap")
          } else {
            assert.isAtLeast(headEnd, 0)
            assert.isAtMost(headEnd, HttpHead.MAX_HEAD)
            // what came behind the head is read next, byte for byte
            const rest = bytes.subarray(headEnd + 4, fed)
            if (rest.length > 0) {
              const next = await new Promise<Buffer | undefined>((resolve) => conn.read(rest.length, (_e, b) => resolve(b)))
              assert.isTrue(next?.equals(rest), "the bytes after the head are the next reader's")
            }
          }
          if (random === undefined && edits.length === 0) {
            if (r.defect === "tooLarge") assert.strictEqual(v.error?.reason, "TooLarge")
            else {
              assert.isUndefined(v.error, v.error?.detail)
              assert.strictEqual(v.head!.second, (r.defect === "path" ? "/elsewhere" : PATH) + r.query)
            }
          }
          count("http head", `read, ${random !== undefined ? "random" : edits.length === 0 ? "valid" : "mutated"}: ${v.error?.reason ?? "head"}`)
        }
      ),
      params(500, 1.5)
    )
  }, timeout())
})

describe("fuzz: the WebSocket upgrade", () => {
  const options: Upgrade.ServerOptions = { path: PATH, trusted: trustNobody([]) }

  it("server side: each defect its refusal, a proper upgrade 101 with the right accept; mutated requests one of the two", async () => {
    await fc.assert(
      fc.asyncProperty(arbRequest, fc.array(arbMutation, { maxLength: 5 }), arbSplit, async (r, edits, how) => {
        const bytes = mutate(requestBytes(r), edits)
        const [conn, peer] = MemoryConn.pair("peer")
        const answer = new Collector()
        peer.forward(answer)
        const results: Array<Upgrade.UpgradeError | undefined> = []
        Upgrade.accept(conn, options, (error) => results.push(error))
        for (const chunk of split(bytes, how)) {
          peer.write(chunk)
          if (results.length > 0) break
        }
        await settle()
        peer.end()
        await settle()
        assert.strictEqual(results.length, 1, "one result, at the latest when the peer goes")
        const error = results[0]
        let outcome: string
        if (error === undefined) {
          const a = answerOf(answer.all)
          assert.strictEqual(a.status, 101)
          // the key the server answered is the one the request carried (as the head parses)
          const text = bytes.toString("latin1")
          const key = HttpHead.parse(text.slice(0, text.indexOf("\r\n\r\n")))?.headers.get("sec-websocket-key")
          assert.strictEqual(a.headers.get("sec-websocket-accept"), acceptOf(key ?? ""))
          assert.isFalse(conn.closed, "an accepted connection stays open")
          outcome = "101"
        } else if (error.status === undefined) {
          assert.strictEqual(answer.bytes, 0, "a peer that went before its head ended is not answered")
          outcome = "closed before the head"
        } else {
          const a = answerOf(answer.all)
          assert.strictEqual(a.status, error.status)
          assert.include([400, 404, 405, 426, 431], a.status)
          assert.strictEqual(a.headers.get("connection"), "close")
          assert.isTrue(conn.closed, "a refused connection is closed")
          outcome = String(a.status)
        }
        if (edits.length === 0) assert.strictEqual(error?.status ?? 101, statusFor[r.defect], `${r.defect}: ${error?.detail}`)
        count("http head", `upgrade server, ${edits.length === 0 ? r.defect : "mutated"}: ${outcome}`)
      }),
      params(800, 2)
    )
  }, timeout())

  it("client side: proceeds only on a 101 carrying the right accept value", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("good", "wrongAccept", "noAccept", "403", "200", "notHttp"),
        fc.array(arbMutation, { maxLength: 4 }),
        fc.uint8Array({ maxLength: 30 }).map((u) => Buffer.from(u)),
        arbSplit,
        async (kind, edits, trailing, how) => {
          const [conn, peer] = MemoryConn.pair("server")
          const request = new Collector()
          peer.forward(request)
          const results: Array<Upgrade.UpgradeError | undefined> = []
          Upgrade.request(conn, { host: "tunnel.example", path: PATH }, (error) => results.push(error))
          const key = /\r\nSec-WebSocket-Key: ([^\r]*)/.exec(request.all.toString("latin1"))![1]!
          const accept = kind === "wrongAccept" ? acceptOf(key + "x") : acceptOf(key)
          const text = kind === "notHttp"
            ? "SSH-2.0-OpenSSH_9.6\r\n\r\n"
            : kind === "403" || kind === "200"
            ? `HTTP/1.1 ${kind} Whatever\r\nContent-Length: 0\r\n\r\n`
            : `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${kind === "noAccept" ? "" : `Sec-WebSocket-Accept: ${accept}\r\n`}\r\n`
          const bytes = mutate(Buffer.concat([Buffer.from(text, "latin1"), trailing]), edits)
          for (const chunk of split(bytes, how)) {
            peer.write(chunk)
            if (results.length > 0) break
          }
          await settle()
          peer.end()
          await settle()
          assert.strictEqual(results.length, 1)
          const error = results[0]
          if (error === undefined) {
            const text = bytes.toString("latin1")
            const head = HttpHead.parse(text.slice(0, text.indexOf("\r\n\r\n")))
            assert.strictEqual(head?.second, "101", "success only on 101")
            assert.strictEqual(head?.headers.get("sec-websocket-accept"), acceptOf(key), "success only with the right accept")
          } else assert.isString(error.detail)
          if (edits.length === 0) assert.strictEqual(error === undefined, kind === "good", error?.detail)
          count("http head", `upgrade client, ${edits.length === 0 ? kind : "mutated"}: ${error === undefined ? "upgraded" : error.status ?? "not HTTP"}`)
        }
      ),
      params(400, 1)
    )
  }, timeout())
})
