/**
 * What the decoder fuzz suites (test/fuzz/) share: how many cases to run, byte-level mutations of valid
 * encodings, ways to cut a byte stream into reads, a per-decoder case tally that `npm run fuzz` adds up,
 * and a way to let an in-memory exchange run to quiescence.
 *
 * `FUZZ_RUNS` is the base count of cases per property, as in test/transport/ws/Frame.test.ts; each
 * property takes a share of it (`runs(ci, share)`), the shares of one decoder adding up to at least 5, so
 * `FUZZ_RUNS=20000` (what `npm run fuzz` sets) gives every decoder at least 100,000 cases. Without it, CI
 * runs the `ci` counts: about 2,000 cases per decoder.
 */
import { afterAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Resumable, Sink } from "../../src/net/Conn.ts"

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? "")
/** true under `npm run fuzz` */
export const fuzzing = Number.isInteger(FUZZ_RUNS) && FUZZ_RUNS > 0

/** The case count of a property: `ci` in CI, FUZZ_RUNS × `share` when fuzzing. */
export const runs = (ci: number, share = 1): number => (fuzzing ? Math.max(ci, Math.round(FUZZ_RUNS * share)) : ci)

/** Test timeout for a property suite: generous when fuzzing (a case count in the hundreds of thousands). */
export const timeout = (ciMillis = 60_000, fuzzMillis = 6 * 3_600_000): number => (fuzzing ? fuzzMillis : ciMillis)

/** `effect`, failing with "`what`: still waiting after N ms" when it takes longer: no step of a live test waits forever. */
export const within = <A, E, R>(effect: Effect.Effect<A, E, R>, millis: number, what: string): Effect.Effect<A, E | Error, R> =>
  Effect.timeoutFail(effect, { duration: millis, onTimeout: () => new Error(`${what}: still waiting after ${millis} ms`) })

/** fast-check parameters for `runs(ci, share)` cases. */
export const params = (ci: number, share = 1): fc.Parameters<unknown> => ({ numRuns: runs(ci, share) })

/**
 * Counts the cases each decoder actually ran (incremented inside the properties, so shrinking and
 * skipped cases are not counted as runs they were not), with how each case ended when the suite says
 * (so a report shows the inputs reached every branch, not only the first check), and writes them to
 * $FUZZ_TALLY_DIR/`file`.json when the file's tests are done; scripts/fuzz.mjs reads them back.
 */
export const tally = (file: string): ((decoder: string, outcome?: string) => void) => {
  const counts: Record<string, number> = {}
  const outcomes: Record<string, Record<string, number>> = {}
  // only where a run asked for them (scripts/fuzz.mjs makes a directory of its own): other test runs
  // in the same tree, at the same time, must not overwrite a fuzz run's figures
  const dir = process.env.FUZZ_TALLY_DIR
  afterAll(() => {
    if (dir === undefined || dir === "") return
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${file}.json`), JSON.stringify({ fuzzing, counts, outcomes }, null, 2) + "\n")
  })
  return (decoder, outcome) => {
    counts[decoder] = (counts[decoder] ?? 0) + 1
    if (outcome !== undefined) {
      const o = (outcomes[decoder] ??= {})
      o[outcome] = (o[outcome] ?? 0) + 1
    }
  }
}

/** Lets an in-memory exchange run until nothing is left to do: every microtask, then one macrotask turn. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * A synchronous property body as an async one that yields to the event loop every 200 cases: tens of
 * thousands of cases in one synchronous run block the test worker long enough for vitest's own
 * messages to it to time out ("Timeout calling onTaskUpdate").
 */
export const yielding = <A extends Array<unknown>>(body: (...args: A) => void): ((...args: A) => Promise<void>) => {
  let n = 0
  return async (...args: A) => {
    body(...args)
    if (++n % 200 === 0) await settle()
  }
}

// ---------------------------------------------------------------------------------------------------
// mutations of valid encodings

/** Values that sit on the edges of length and count fields, written big-endian at 1, 2, 4 or 8 bytes. */
const interesting = [
  0, 1, 2, 4, 7, 8, 0x7d, 0x7e, 0x7f, 0x80, 0xfe, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x10001,
  0xffffff, 0x1000000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff
]

/** One edit of a byte string. Positions are taken modulo the length, so any number is a position. */
export type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "set"; readonly at: number; readonly byte: number }
  | { readonly op: "word"; readonly at: number; readonly width: 1 | 2 | 4 | 8; readonly value: number }
  | { readonly op: "truncate"; readonly at: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "remove"; readonly at: number; readonly n: number }
  | { readonly op: "repeat"; readonly at: number; readonly n: number; readonly times: number }
  | { readonly op: "splice"; readonly at: number; readonly donor: number; readonly from: number; readonly n: number }
  | { readonly op: "extend"; readonly bytes: Uint8Array }

export const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.nat(255) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("word" as const),
      at: fc.nat(),
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      value: fc.constantFrom(...interesting)
    })
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("remove" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 1, max: 4 }) })
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("splice" as const), at: fc.nat(), donor: fc.nat(), from: fc.nat(), n: fc.integer({ min: 1, max: 80 }) })
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) }
)

/** Edits applied in turn to a copy of `valid`; `donors` (other valid encodings) feed the splices. */
export const mutate = (valid: Uint8Array, edits: ReadonlyArray<Mutation>, donors: ReadonlyArray<Uint8Array> = []): Buffer => {
  let b = Buffer.from(valid)
  for (const m of edits) {
    const len = b.length
    const at = "at" in m ? m.at % (len + 1) : len
    switch (m.op) {
      case "flip":
        if (at < len) b[at] = b[at]! ^ (1 << m.bit)
        break
      case "set":
        if (at < len) b[at] = m.byte
        break
      case "word": {
        for (let i = 0; i < m.width && at + i < len; i++) {
          const shift = (m.width - 1 - i) * 8
          b[at + i] = shift >= 32 ? 0 : Math.floor(m.value / 2 ** shift) & 0xff
        }
        break
      }
      case "truncate":
        b = b.subarray(0, at)
        break
      case "insert":
      case "extend":
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)])
        break
      case "remove":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)])
        break
      case "repeat": {
        const piece = b.subarray(at, at + m.n)
        b = Buffer.concat([b.subarray(0, at + piece.length), ...Array.from({ length: m.times }, () => piece), b.subarray(at + piece.length)])
        break
      }
      case "splice": {
        const donor = donors.length === 0 ? b : donors[m.donor % donors.length]!
        const from = m.from % (donor.length + 1)
        b = Buffer.concat([b.subarray(0, at), donor.subarray(from, from + m.n), b.subarray(at)])
        break
      }
    }
  }
  return b
}

/** Where a fuzz input came from: a valid encoding, a mutated one, or uniform random bytes. */
export type Origin = "valid" | "mutated" | "random"

/**
 * Inputs built from valid encodings (each a list of messages, joined): mostly mutated (1 to 6 edits, the
 * messages as splice donors), some left valid, some replaced by uniform random bytes.
 */
export const arbInput = (
  valid: fc.Arbitrary<ReadonlyArray<Uint8Array>>,
  randomMax = 512
): fc.Arbitrary<{ readonly bytes: Buffer; readonly origin: Origin; readonly parts: ReadonlyArray<Uint8Array> }> =>
  fc.oneof(
    { weight: 2, arbitrary: valid.map((parts) => ({ bytes: Buffer.concat(parts), origin: "valid" as const, parts })) },
    {
      weight: 12,
      arbitrary: fc.tuple(valid, fc.array(arbMutation, { minLength: 1, maxLength: 6 })).map(([parts, edits]) => ({
        bytes: mutate(Buffer.concat(parts), edits, parts),
        origin: "mutated" as const,
        parts
      }))
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: randomMax }).map((u) => ({ bytes: Buffer.from(u), origin: "random" as const, parts: [] }))
    }
  )

// ---------------------------------------------------------------------------------------------------
// reads

/** How a stream is cut into reads: chunk sizes used in turn (1 = byte by byte), or cut points. */
export type Split = { readonly sizes: ReadonlyArray<number> } | { readonly cuts: ReadonlyArray<number> }

export const arbSplit: fc.Arbitrary<Split> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ sizes: [1 << 30] }) },
  {
    weight: 2,
    arbitrary: fc.record({
      sizes: fc.array(
        fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 400 })),
        { minLength: 1, maxLength: 6 }
      )
    })
  },
  { weight: 2, arbitrary: fc.record({ cuts: fc.array(fc.nat(), { maxLength: 10 }) }) }
)

/** `bytes` cut as `how` says, each chunk its own copy (a receiver may change what it is handed). */
export const split = (bytes: Uint8Array, how: Split): Array<Buffer> => {
  const chunks: Array<Buffer> = []
  if ("sizes" in how) {
    for (let off = 0, i = 0; off < bytes.length; i++) {
      // past 1,000 reads the sizes grow 64-fold: a 64 KiB payload byte by byte costs time, not coverage
      const n = how.sizes[i % how.sizes.length]! * (i < 1000 ? 1 : 64)
      chunks.push(Buffer.from(bytes.subarray(off, off + n)))
      off += n
    }
    return chunks
  }
  const cuts = [...new Set(how.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) chunks.push(Buffer.from(bytes.subarray(from, cut)))
    from = cut
  }
  return chunks
}

/** A sink that keeps what it is given (as copies) and whether it was ended. */
export class Collector implements Sink {
  readonly chunks: Array<Buffer> = []
  bytes = 0
  ended = false
  write(chunk: Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk))
    this.bytes += chunk.length
    return true
  }
  end(): void {
    this.ended = true
  }
  whenDrained(_source: Resumable | undefined): void {}
  get all(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

/** Deterministic bytes from a seed (xorshift32). */
export const bytesFrom = (length: number, seed: number): Buffer => {
  const out = Buffer.allocUnsafe(length)
  let x = seed | 0 || 0x9e3779b9
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
